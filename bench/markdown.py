"""Markdown pieces the benchmark report is written with: task classes, number formats, tables, verdicts."""

from __future__ import annotations

import math
from typing import Any

CLASSES = ("simple", "independent", "chained", "failing", "reasoning", "complex")
HEAD = {"simple": "simple", "independent": "independent", "chained": "chained", "failing": "failing tool",
        "reasoning": "needs reasoning", "complex": "all complex"}


def classes_in(table: dict[str, Any]) -> tuple[str, ...]:
    """The classes a latency run has (runs from before issue 16 have no reasoning class)."""
    return tuple(c for c in CLASSES if c in table)


def fmt_s(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}"


def fmt_x(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}x"


def md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"
