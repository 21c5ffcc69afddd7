"""plangate.graph.models.jsontext: tool calls that small models write as text, in the shapes they really use."""

from __future__ import annotations

import pytest

from plangate.graph.models.jsontext import parse_json_object, parse_tool_call_text

TIMER = ["timer__set_timer"]
TIMERS = ["timer__set_timer", "timer__list_timers", "timer__cancel_timer"]


@pytest.mark.parametrize(
    ("text", "expected", "names"),
    [
        # a fenced block, as chat models like to answer
        ('```json\n{"name": "timer__set_timer", "arguments": {"seconds": 300}}\n```', ("timer__set_timer", {"seconds": 300}), TIMERS),
        # OpenAI's wire shape: arguments as a JSON *string*
        ('{"name": "timer__set_timer", "arguments": "{\\"seconds\\": 60, \\"label\\": \\"tea\\"}"}',
         ("timer__set_timer", {"seconds": 60, "label": "tea"}), TIMERS),
        # "parameters" instead of "arguments", and a dotted plan-style name
        ('{"name": "timer.set_timer", "parameters": {"seconds": 5}}', ("timer__set_timer", {"seconds": 5}), TIMERS),
        # a function wrapper, and an empty-string arguments field
        ('{"type": "function", "function": {"name": "timer__list_timers", "arguments": ""}}', ("timer__list_timers", {}), TIMERS),
        # the name without its domain prefix, matched by its unique suffix; case does not matter
        ('{"tool": "List_Timers", "args": {}}', ("timer__list_timers", {}), TIMERS),
        # <tool_call> tags around a list of calls (Qwen/SmolLM style)
        ('<tool_call>\n[{"name": "timer__cancel_timer", "arguments": {"timer_id": "t1"}}]\n</tool_call>',
         ("timer__cancel_timer", {"timer_id": "t1"}), TIMERS),
        # a dumped OpenAI message
        ('{"tool_calls": [{"id": "c1", "function": {"name": "timer__set_timer", "arguments": "{\\"seconds\\": 9}"}}]}',
         ("timer__set_timer", {"seconds": 9}), TIMERS),
        # bare arguments are accepted only when exactly one tool is expected
        ('{"seconds": 600, "label": "pasta"}', ("timer__set_timer", {"seconds": 600, "label": "pasta"}), TIMER),
        # prose before and after
        ('Sure! Here is the call:\n{"seconds": 120}\nLet me know if you need anything else.', ("timer__set_timer", {"seconds": 120}), TIMER),
        # braces and quotes inside strings do not confuse the scanner
        ('{"name": "timer__set_timer", "arguments": {"label": "a } tricky { \\"label\\"", "seconds": 1}} trailing }',
         ("timer__set_timer", {"label": 'a } tricky { "label"', "seconds": 1}), TIMERS),
        # trailing commas are forgiven, commas inside strings are kept
        ('{"name": "timer__set_timer", "arguments": {"label": "x, }", "seconds": 3,},}', ("timer__set_timer", {"label": "x, }", "seconds": 3}), TIMERS),
        # an unbalanced outer envelope still yields its complete inner object for a single expected tool
        ('{"name": "timer__set_timer", "arguments": {"seconds": 42}', ("timer__set_timer", {"seconds": 42}), TIMER),
        # a broken first object, then a good one
        ('{"seconds": 1 2} and then {"name": "timer__set_timer", "arguments": {"seconds": 2}}', ("timer__set_timer", {"seconds": 2}), TIMERS),
        # nested objects in the arguments stay intact
        ('{"name": "PlanDraft", "arguments": {"goal": "g", "steps": [{"id": 1, "tool": "t.x", "args": {"a": {"b": [1, {"c": "}"}]}}}]}}',
         ("PlanDraft", {"goal": "g", "steps": [{"id": 1, "tool": "t.x", "args": {"a": {"b": [1, {"c": "}"}]}}}]}), ["PlanDraft"]),
    ],
)
def test_parses_the_shapes_models_write(text: str, expected: tuple[str, dict], names: list[str]) -> None:
    assert parse_tool_call_text(text, names) == expected


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("", TIMERS),
        ("I'm sorry, I can't help with that.", TIMER),
        ("{not json at all}", TIMER),
        ("{'seconds': 5}", TIMER),  # a Python dict is not JSON, and text is never evaluated
        ('{"seconds": 5', TIMER),  # never closes
        ("[1, 2, 3]", TIMER),  # JSON, but no object
        ('"just a string"', TIMER),
        # an envelope naming a tool that is not offered is rejected, not guessed
        ('{"name": "rm_rf", "arguments": {"path": "/"}}', TIMER),
        ('{"name": "weather__forecast", "arguments": {"place": "Paris"}}', TIMERS),
        # arguments that are not an object
        ('{"name": "timer__set_timer", "arguments": [300]}', TIMERS),
        ('{"name": "timer__set_timer", "arguments": "not json"}', TIMERS),
        # a bare object is ambiguous when several tools are offered
        ('{"seconds": 5}', TIMERS),
        # a suffix that matches several tools is ambiguous
        ('{"name": "timer", "arguments": {}}', ["a__timer", "b__timer"]),
    ],
)
def test_rejects_garbage_and_unknown_tools(text: str, names: list[str]) -> None:
    assert parse_tool_call_text(text, names) is None


def test_parse_json_object_skips_arrays_and_returns_the_first_object() -> None:
    assert parse_json_object('[1, 2] then {"a": {"b": 1}} and {"c": 2}') == {"a": {"b": 1}}
    assert parse_json_object("nothing here") is None


def test_scanning_stops_at_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unclosed brackets make each scan run to the end; the budget caps the total work on garbage."""
    text = "[" * 300 + '{"seconds": 1}'
    assert parse_tool_call_text(text, TIMER) == ("timer__set_timer", {"seconds": 1})
    monkeypatch.setattr("plangate.graph.models.jsontext._SCAN_BUDGET", 5000)  # less than 300 scans of ~300 characters
    assert parse_tool_call_text(text, TIMER) is None
