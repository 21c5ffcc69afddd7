"""Tolerant parsing of tool calls that a model wrote as text instead of a real tool call.

Small local models answer `{"name": "timer__set_timer", "arguments": {...}}`, a bare JSON object in
a ```json fence, `<tool_call>[...]</tool_call>`, or JSON followed by prose. This finds the balanced
JSON values in the text (braces inside strings do not count), forgives trailing commas, and unwraps
the common envelopes. It only ever parses JSON: text is never evaluated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

_ENVELOPE_ARGS = ("arguments", "parameters", "args", "input")
_ENVELOPE_NAMES = ("name", "tool", "tool_name", "function_name")
_OPEN = {"{": "}", "[": "]"}
_SCAN_BUDGET = 2_000_000  # characters scanned per text at most: garbage cannot make parsing slow


def _chars(text: str, start: int = 0) -> Iterator[tuple[int, str, bool]]:
    """(index, char, inside a JSON string) from `start`; the quotes themselves count as inside."""
    in_string = escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            yield index, char, True
        else:
            in_string = char == '"'
            yield index, char, in_string


def _balanced(text: str, start: int) -> tuple[str | None, int]:
    """(the balanced {...} or [...] starting at `start` or None, characters scanned)."""
    stack: list[str] = []
    for index, char, quoted in _chars(text, start):
        if quoted:
            continue
        if char in _OPEN:
            stack.append(_OPEN[char])
        elif char in "}]":
            if not stack or stack.pop() != char:
                return None, index - start
            if not stack:
                return text[start : index + 1], index - start
    return None, len(text) - start


def _candidates(text: str) -> Iterator[str]:
    """Every balanced JSON-looking substring, in order of where it starts (outer before inner)."""
    budget = _SCAN_BUDGET
    for index, char in enumerate(text):
        if char in _OPEN:
            found, scanned = _balanced(text, index)
            budget -= scanned
            if found:
                yield found
            if budget <= 0:
                return


def _without_trailing_commas(candidate: str) -> str:
    """`{"a": 1,}` -> `{"a": 1}`, leaving commas inside strings alone."""
    out: list[str] = []
    for index, char, quoted in _chars(candidate):
        if not quoted and char == "," and candidate[index + 1 :].lstrip()[:1] in ("}", "]"):
            continue
        out.append(char)
    return "".join(out)


def _load(candidate: str) -> Any:
    try:
        return json.loads(candidate)
    except json.JSONDecodeError:
        pass
    try:
        return json.loads(_without_trailing_commas(candidate))
    except json.JSONDecodeError:
        return None


def parse_json_values(text: str) -> Iterator[dict[str, Any] | list[Any]]:
    """Every JSON object or array in `text` that parses, outermost first."""
    for candidate in _candidates(text or ""):
        value = _load(candidate)
        if isinstance(value, dict | list):
            yield value


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text` that parses, or None."""
    for value in parse_json_values(text):
        if isinstance(value, dict):
            return value
    return None


def _envelope(value: dict[str, Any], expected: list[str]) -> tuple[str, dict[str, Any]] | Literal[False] | None:
    """(name, args) for a call envelope; None for an envelope naming an unknown tool; False if no envelope."""
    if isinstance(value.get("function"), dict):
        value = value["function"]
    name = next((value[k] for k in _ENVELOPE_NAMES if isinstance(value.get(k), str)), None)
    if name is None:
        return False
    for key in _ENVELOPE_ARGS:
        if key in value:
            args = value[key]
            if isinstance(args, str):
                args = _load(args) if args.strip() else {}
            if not isinstance(args, dict):
                return None
            matched = _match_name(name, expected)
            return (matched, args) if matched else None
    return False


def _calls(value: Any) -> Iterator[dict[str, Any]]:
    """Call-shaped objects inside a parsed value: itself, a list of calls, or OpenAI's `tool_calls`."""
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                yield item
    elif isinstance(value, dict):
        if isinstance(value.get("tool_calls"), list):
            yield from _calls(value["tool_calls"])
        else:
            yield value


def parse_tool_call_text(text: str, expected_names: list[str]) -> tuple[str, dict[str, Any]] | None:
    """(name, args) of a tool call written as text, or None.

    Accepts `{"name": N, "arguments": {...}}` (arguments may be a JSON string; also "parameters",
    "args", "input"), `{"function": {...}}`, lists of such calls and `{"tool_calls": [...]}`. Names
    match exactly, with "." for "__", case-insensitively, or by a unique suffix ("set_timer"). When
    exactly one tool is expected, a bare object is taken as its arguments. An envelope naming a tool
    that is not expected is rejected rather than guessed.
    """
    rejected = False
    for value in parse_json_values(text):
        for call in _calls(value):
            found = _envelope(call, expected_names)
            if found is None:
                rejected = True
            elif found is not False:
                return found
        if rejected:
            return None
        if len(expected_names) == 1 and isinstance(value, dict):
            return expected_names[0], value
    return None


def _match_name(name: str, expected: list[str]) -> str | None:
    if name in expected:
        return name
    normalized = name.strip().replace(".", "__")
    for candidate in expected:
        if candidate == normalized or candidate.lower() == normalized.lower():
            return candidate
    suffix = [c for c in expected if c.lower().endswith("__" + normalized.lower())]
    return suffix[0] if len(suffix) == 1 else None
