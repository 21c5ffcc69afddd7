"""Conditions in a request ("text me if it's below zero") as structured tests over a step's result.

A condition reads the result of a task before it in the same domain ("check the weather in Oslo and
text me if it's below zero") or of a lookup added for it ("if it rains tomorrow in Paris, remind me").
The tests come from `vocabulary.CONDITIONS`: an output field, an operator and a value. Never eval.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from plangate.graph.offline import matching, slots, vocabulary
from plangate.graph.offline.task import TOOL, Task, tool_task
from plangate.tools.registry import ToolRegistry

_MARKER = re.compile(r"\b(" + "|".join(re.escape(m) for m in vocabulary.CONDITION_MARKERS) + r")\b", re.IGNORECASE)
_QUESTION_IF = re.compile(r"\b(?:" + "|".join(re.escape(q) for q in vocabulary.QUESTION_IFS) + r")$", re.IGNORECASE)
_WHEN_QUESTION = re.compile(r"^\s*(?:is|are|was|does|do|did|will|should|can)\b", re.IGNORECASE)
_NEGATION = re.compile(vocabulary.NEGATIONS, re.IGNORECASE)
_TESTS = [(re.compile(entry["pattern"], re.IGNORECASE), entry) for entry in vocabulary.CONDITIONS]
_OUTCOMES = [(re.compile(p, re.IGNORECASE), op) for p, op in vocabulary.OUTCOME_CONDITIONS]


def _test_end(text: str) -> int:
    """Where the condition's own words end (its test phrase), or 0."""
    ends = [m.end() for pattern, _ in _TESTS if (m := pattern.search(text))]
    ends += [m.end() for pattern, _ in _OUTCOMES if (m := pattern.search(text))]
    negation = re.match(r"\s*(?:not|no|otherwise)\b", text, re.IGNORECASE)
    if negation:
        ends.append(negation.end())
    return min(ends) if ends else 0


def split_condition(piece: str, registry: ToolRegistry) -> tuple[str | None, str]:
    """(condition text or None, action text). "if C then A", "if C A", "A if C"; "check if ..." asks, it is no condition."""
    for match in _MARKER.finditer(piece):
        before, after = piece[: match.start()], piece[match.end():]
        if matching.WHEN_DONE.match(piece[match.start():]):  # "notify me when done": after the steps, no test
            continue
        if _QUESTION_IF.search(piece[: match.end()]) or (match.group(1).lower() == "when" and _WHEN_QUESTION.match(after)):
            continue
        if before.strip(" ,"):
            return after.strip(" ,"), before.strip(" ,")
        end = _test_end(after)
        action_start = next((h.start for h in matching.hits(after, registry) if h.start >= end), None)
        if action_start is None:
            return after.strip(" ,"), ""
        condition = re.sub(r"\s*,?\s*then\s*$", "", after[:action_start].strip(" ,"), flags=re.IGNORECASE)
        return condition, after[action_start:].strip(" ,")
    return None, piece


def _test_for(condition: str, tool: str) -> dict[str, Any] | None:
    for pattern, entry in _TESTS:
        match = pattern.search(condition)
        if match and tool in entry["tests"]:
            field, op, *fixed = entry["tests"][tool]
            value = fixed[0] if fixed else entry["value"] if "value" in entry else float(match.group(1))
            return {"field": field, "op": op, "value": value}
    return None


def _domain_of(condition: str) -> dict[str, Any] | None:
    return next((entry for pattern, entry in _TESTS if pattern.search(condition)), None)


def _inverted(test: dict[str, Any]) -> dict[str, Any]:
    flipped = {"equals": "not_equals", "not_equals": "equals", "gt": "lt", "lt": "gt", "contains": "not_contains",
               "not_contains": "contains"}
    if isinstance(test["value"], bool):
        return {**test, "value": not test["value"]}
    return {**test, "op": flipped.get(test["op"], test["op"])}


def attach(target: Task, condition: str, tasks: list[Task], registry: ToolRegistry, now: datetime) -> list[Task]:
    """Give `target` a structured condition; returns the lookup task(s) to run before it (maybe none).

    Sets `target.problem` when the condition cannot be tested by rules."""
    target.condition_text = condition
    previous = next((t for t in reversed(tasks) if t.kind == TOOL and t.tool), None)
    if _NEGATION.match(condition.strip()) and previous is not None:  # "is the door locked? if not, lock it"
        test = _test_for(previous.text, previous.tool or "")
        if test is not None:
            target.condition = {"on": previous, **_inverted(test)}
            _borrow(target, previous, registry)
            return []
    entry = _domain_of(condition)
    if entry is None:
        outcome = next((op for pattern, op in _OUTCOMES if pattern.search(condition)), None)
        if outcome and previous is not None:
            target.condition = {"on": previous, "op": outcome, "value": None, "field": None}
            return []
        target.problem = f"I can't check \"{condition}\" by rules"
        return []
    same = next((t for t in reversed(tasks) if t.kind == TOOL and t.tool in entry["tests"]), None)
    if same is not None and _same_place(condition, same, registry):
        test = _test_for(condition, same.tool or "")
        if test is not None:
            target.condition = {"on": same, **test}
            return []
    tools = [t for t in entry["tests"] if t in registry]
    if not tools:
        target.problem = f"no tool can check \"{condition}\""
        return []
    picked = matching.pick_tool(condition, entry["domain"], registry, now)
    lookup = tool_task(condition, picked if picked in tools else tools[0], registry, now, tasks)
    lookup.lookup = True
    _borrow(lookup, target, registry)
    missing = matching.required_args(registry, lookup.tool or "") - set(lookup.args)
    if missing:
        target.problem = f"checking \"{condition}\" needs {', '.join(sorted(missing))}"
        return []
    test = _test_for(condition, lookup.tool or "")
    if test is None:
        target.problem = f"I can't check \"{condition}\" by rules"
        return []
    target.condition = {"on": lookup, **test}
    _borrow(target, lookup, registry)
    return [lookup]


def _same_place(condition: str, task: Task, registry: ToolRegistry) -> bool:
    """False when the condition names a place of its own that `task` is not about."""
    place = slots.place_in(condition)
    kinds = matching.slot_kinds(registry, task.tool or "")
    theirs = next((task.args.get(a) for a, k in kinds.items() if k == "place"), None)
    return place is None or theirs is None or place.lower() == str(theirs).lower()


def _borrow(task: Task, source: Task, registry: ToolRegistry) -> None:
    """Fill `task`'s missing place or device ("lock it") from `source`."""
    if not task.tool or not source.tool:
        return
    theirs = matching.slot_kinds(registry, source.tool)
    for arg, kind in matching.slot_kinds(registry, task.tool).items():
        source_arg = next((a for a, k in theirs.items() if k == kind), None)
        if kind in ("place", "device") and arg not in task.args and source_arg in source.args:
            task.args[arg] = source.args[source_arg]
