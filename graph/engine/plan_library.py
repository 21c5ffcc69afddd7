"""The plan library: successful plans saved under a normalized request key and reused with new slot values.

"set a timer for 10 minutes and check the weather in Paris" and "... 5 minutes ... in London" share the
key "set timer for <duration> check weather <place>"; the stored plan's arguments that came from those
slots are templates, re-filled from the new request, so the planner's model call is skipped.
Every other word of the request is part of the key (digits and any alphabet included), and an argument
copied from the old request's words ("round0", "café") must appear in the new one, or the plan is not reused.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from plangate.graph.offline import slots
from plangate.tools.runtime import user_label

NAMESPACE = ("plangate", "plan_library")


def namespace(user: str) -> tuple[str, ...]:
    """Where one user's learnt plans live (the id encoded as a Store label)."""
    return (*NAMESPACE, user_label(user))


_STOP = {"a", "an", "the", "please", "can", "you", "could", "would", "me", "my", "and", "then", "also", "to", "in", "at", "for", "of"}
_PLACE = re.compile(r"\b(?:in|for|at|of)\s+((?:[A-Z][\w'\-]+)(?:\s+[A-Z][\w'\-]+)*)")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?\b")


def _scan(text: str) -> tuple[str, list[tuple[str, Any]]]:
    """(text with slots masked as <kind>, [(kind, value)] in order of kind then position)."""
    values: list[tuple[str, Any]] = []

    def duration(match: re.Match[str]) -> str:
        values.append(("duration", slots.duration_seconds(match.group(0))))
        return " <duration> "

    def place(match: re.Match[str]) -> str:
        if match.group(1) in ("I", "Today", "Tomorrow"):
            return match.group(0)
        values.append(("place", match.group(1)))
        return match.group(0)[: match.start(1) - match.start(0)] + " <place> "

    def number(match: re.Match[str]) -> str:
        phrase = match.group(0)
        values.append(("number", float(phrase) if "." in phrase else int(phrase)))
        return " <number> "

    masked = slots.DURATION.sub(duration, text)
    masked = _PLACE.sub(place, masked)
    masked = _NUMBER.sub(number, masked)
    return masked, values


def store_key(text: str) -> str:
    """A short, stable Store key for a normalized request key."""
    return hashlib.sha256(request_key(text).encode()).hexdigest()[:24]


def request_key(text: str) -> str:
    """Lower-cased words with slot values replaced by <kind> placeholders and filler words dropped."""
    words = [w for w in re.findall(r"<\w+>|[\w']+", _scan(text)[0].lower()) if w not in _STOP]
    return " ".join(words)[:300]


def _template(value: Any, found: list[tuple[str, Any]]) -> Any:
    for index, (kind, slot_value) in enumerate(found):
        if value == slot_value and not isinstance(value, bool):
            return {"$slot": index, "kind": kind}
    if isinstance(value, str):
        for index, (kind, slot_value) in enumerate(found):
            if kind == "place" and isinstance(slot_value, str) and slot_value in value:
                return {"$text": value.replace(slot_value, "{slot%d}" % index)}
    return value


def templatize(plan: dict[str, Any], request: str) -> dict[str, Any]:
    """A stored form of `plan` whose slot-derived argument values are placeholders."""
    found = _scan(request)[1]
    steps = []
    for step in plan["steps"]:
        args = {name: _template(value, found) for name, value in step.get("args", {}).items()}
        steps.append({**step, "args": args})
    literals = sorted({v for step in steps for v in step["args"].values() if isinstance(v, str) and v and v.lower() in request.lower()})
    return {"goal": plan.get("goal", ""), "reasoning": plan.get("reasoning", ""), "steps": steps,
            "slots": [k for k, _ in found], "literals": literals}


def instantiate(stored: dict[str, Any], request: str) -> dict[str, Any] | None:
    """The stored plan with slots re-filled from `request`, or None when the slots do not line up."""
    found = _scan(request)[1]
    if [k for k, _ in found] != stored.get("slots"):
        return None
    if any(literal.lower() not in request.lower() for literal in stored.get("literals", [])):
        return None  # an argument taken from the old request's words that this request does not say

    def fill(value: Any) -> Any:
        if isinstance(value, dict) and "$slot" in value:
            return found[value["$slot"]][1]
        if isinstance(value, dict) and "$text" in value:
            return re.sub(r"\{slot(\d+)\}", lambda m: str(found[int(m.group(1))][1]), value["$text"])
        return value

    steps = [{**step, "args": {k: fill(v) for k, v in step.get("args", {}).items()}} for step in stored["steps"]]
    return {"goal": request, "reasoning": f"reused from the plan library: {stored.get('reasoning', '')}"[:500], "steps": steps}
