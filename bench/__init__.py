"""Benchmarks of plangate against the anchor agent patterns (P&E tutorial, ReAct, LLMCompiler-style).

Run with `make bench` (or `python -m bench`); results go to `bench/results/`.
"""
