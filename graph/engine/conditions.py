"""Structured step conditions, evaluated over earlier results. Never `eval` of text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from plangate.graph.engine.plan import Condition
from plangate.graph.engine.references import lookup_path


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def holds(condition: Condition, entry: Mapping[str, Any] | None) -> bool:
    """Whether `condition` holds for the result `entry` ({status, output}) of its step."""
    status = (entry or {}).get("status")
    if condition.op == "succeeded":
        return status == "completed"
    if condition.op == "failed":
        return status == "failed"
    if status != "completed":
        return False
    try:
        value = lookup_path((entry or {}).get("output"), condition.field)
    except KeyError:
        return False
    target = condition.value
    if condition.op in ("contains", "not_contains"):
        found = (
            target in value
            if isinstance(value, list | dict) and not isinstance(target, dict | list)
            else _text(target).lower() in _text(value).lower()
        )
        return found if condition.op == "contains" else not found
    if condition.op in ("equals", "not_equals"):
        same = value == target or _text(value).strip().lower() == _text(target).strip().lower()
        return same if condition.op == "equals" else not same
    left, right = _number(value), _number(target)
    if left is None or right is None:
        return False
    return left > right if condition.op == "gt" else left < right
