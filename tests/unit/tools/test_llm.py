"""llm.generate takes earlier results as text or JSON data ({{step_1}} keeps its type)."""

from __future__ import annotations

from plangate.tools.registry import build_registry


def test_context_accepts_text_and_data_but_not_unbounded_text():
    registry = build_registry()
    assert registry.check_args("llm.generate", {"prompt": "summarise", "context": {"message": "hi", "results": [1]}}) == []
    assert registry.check_args("llm.generate", {"prompt": "summarise", "context": "{{step_1}}"}) == []
    problems = registry.check_args("llm.generate", {"prompt": "summarise", "context": "x" * 40_000})
    assert problems and "longer than 32000" in problems[0]
