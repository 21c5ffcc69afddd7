"""`{{step_N}}` and `{{step_N.field}}` references in step arguments.

A string that is only a reference is replaced by the value itself (keeping its type); references
inside longer strings are rendered as text. A reference to a step that did not complete is a clear
step error, never a crash.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from plangate.tools.registry import REFERENCE


class StepReferenceError(ValueError):
    """An argument refers to a step whose output is not available."""


def lookup_path(value: Any, path: str | None) -> Any:
    """Follow a dotted path into dicts, lists (by index) and JSON strings."""
    if not path:
        return value
    current = value
    for part in path.split("."):
        if isinstance(current, str):
            try:
                current = json.loads(current)
            except json.JSONDecodeError:
                raise KeyError(part) from None
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.lstrip("-").isdigit() and -len(current) <= int(part) < len(current):
            current = current[int(part)]
        else:
            raise KeyError(part)
    return current


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        return value["message"]
    return json.dumps(value, default=str, ensure_ascii=False)


def _value(step_id: int, path: str | None, available: Mapping[int, Mapping[str, Any]]) -> Any:
    entry = available.get(step_id)
    if entry is None:
        raise StepReferenceError(f"{{{{step_{step_id}}}}} has no result yet")
    if entry.get("status") != "completed":
        reason = f": {entry['error']}" if entry.get("error") else ""
        raise StepReferenceError(f"{{{{step_{step_id}}}}} refers to a step that {entry.get('status')}{reason}")
    try:
        return lookup_path(entry.get("output"), path)
    except KeyError as missing:
        raise StepReferenceError(f"{{{{step_{step_id}.{path}}}}}: step {step_id}'s output has no field {missing}") from None


def resolve(value: Any, available: Mapping[int, Mapping[str, Any]], text_fields: frozenset[str] = frozenset()) -> Any:
    """`value` with every reference substituted from `available` ({step_id: {status, output, error}}).

    A whole-value reference keeps the referenced value's type, except in top-level `text_fields`
    (arguments the tool declares as strings), where it is rendered as text.
    """
    if isinstance(value, dict) and text_fields:
        return {k: _as_text(v) if k in text_fields and not isinstance(v, str) else v
                for k, v in resolve(value, available).items()}
    if isinstance(value, str):
        whole = REFERENCE.fullmatch(value.strip())
        if whole:
            return _value(int(whole.group(1)), whole.group(2), available)
        return REFERENCE.sub(lambda m: _as_text(_value(int(m.group(1)), m.group(2), available)), value)
    if isinstance(value, dict):
        return {k: resolve(v, available) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, available) for v in value]
    return value


def render_template(template: str, available: Mapping[int, Mapping[str, Any]]) -> str:
    """An answer template with every reference rendered as text; StepReferenceError if one cannot be."""
    return REFERENCE.sub(lambda m: _as_text(_value(int(m.group(1)), m.group(2), available)), template)
