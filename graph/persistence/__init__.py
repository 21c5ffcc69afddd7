"""Checkpointers and stores (SQLite, PostgreSQL) and crash-safe runs."""
