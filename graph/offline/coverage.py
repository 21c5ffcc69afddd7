"""Which parts of a request a tool call or a plan accounts for, and the note that names the rest.

The rules are sure of a request only when every word is accounted for: a tool keyword, a slot value
the chosen tool takes, free text its text argument absorbs, or filler. What is left over (a second
time, an unknown clause, a condition with nothing to test) makes them unsure. On the fast path and
the plan path alike, a part of the request that no action covers is named in the answer:
"I didn't do "book a flight": none of my tools can do that."
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from plangate.graph.offline import grammar, matching, slots, vocabulary
from plangate.graph.offline.task import OUT_OF_SCOPE, REASONING, SMALLTALK, TOOL, UNKNOWN, Task
from plangate.tools.registry import CONVERSATION, ToolRegistry

NOT_DONE = "I didn't"
_QUANTITY = re.compile(r"\d")
_TIME_WORDS = re.compile(r"\b(?:morning|afternoon|evening|night|tonight|weekend|week|month|noon|midday|midnight|am|pm|"
                         r"next|this|few|days?|o'clock)\b", re.IGNORECASE)
_STATE = re.compile(r"\b(?:on|off|up|down|lock|unlock|locked|unlocked|open|" + "|".join(map(re.escape, vocabulary.STATE_WORDS))
                    + r")\b|\b(?:to|at|up to|down to)?\s*\d+(?:\.\d+)?\s*(?:%|percent|degrees?|°c?)|\b(?:to|at|up to|down to)\s+\d+(?:\.\d+)?\b",
                    re.IGNORECASE)
_NOW_WORDS = {"today", "tonight", "now"}


def says_not_done(answer: str) -> bool:
    """Whether an answer carries the note naming a part of the request that was not acted on."""
    return NOT_DONE.lower() in answer.lower()


def _remove(text: str, pattern: re.Pattern[str] | str) -> str:
    return re.sub(pattern, " ", text, flags=re.IGNORECASE) if isinstance(pattern, str) else pattern.sub(" ", text)


def unexplained(task: Task, registry: ToolRegistry) -> list[str]:
    """Words of a tool task that neither its keywords, nor the slots its tool takes, nor filler explain.

    A tool that declares no slots leaves its arguments to the model (the fast path's call fills them): its
    clause is accounted for as a whole, and only the clause split can leave something over."""
    if task.kind != TOOL or task.tool is None or not matching.slot_kinds(registry, task.tool):
        return []
    kinds = set(matching.slot_kinds(registry, task.tool).values())
    text = f" {grammar.normalize(task.text).lower()} "
    if kinds & {"duration_s", "duration_min"}:
        text = _remove(text, slots.DURATION)
    nouns = matching.domain_nouns(task.domain or "", registry)
    for hit in matching.hits(text, registry):
        if task.domain in hit.domains:
            start = hit.start
            if hit.keyword in nouns:  # "my tea timer": the word before the domain's noun names which one
                before = re.search(r"([\w'\-]+)\s+$", text[:start])
                start = before.start(1) if before else start
            text = text[:start] + " " * (hit.end - start) + text[hit.end:]
    for arg, value in task.args.items():
        kind = matching.slot_kinds(registry, task.tool).get(arg)
        if kind in matching.TEXT_SLOTS | {"place", "device"} and isinstance(value, str):
            text = text.replace(value.lower(), " ")
            for word in re.findall(r"[\w'\-]+", value.lower()):
                text = re.sub(rf"(?<![\w'])({re.escape(word)})(?![\w'])", " ", text, count=1)
    unused = _unused_times(text, kinds)
    if kinds & {"datetime", "date"}:
        text = _remove(_remove(_remove(text, slots._CLOCK), slots._DAY_WORDS), slots._ISO_DATE)
        text = _remove(text, slots.MONTH_DATE)
        text = _remove(text, _TIME_WORDS)
    if kinds & {"device_state", "number"}:
        text = _remove(text, _STATE)
    if "device" in kinds:
        text = _remove(text, r"\b(?:" + "|".join(map(re.escape, vocabulary.ROOMS)) + r"|" + slots.DEVICE_NOUNS + r")\b")
    return unused + grammar.content_words(text)


def _unused_times(text: str, kinds: set[str]) -> list[str]:
    """Times, dates and durations in `text` that a tool with these slot kinds cannot take ("at 7am" for a light)."""
    found = []
    if not kinds & {"duration_s", "duration_min"}:
        found += [m.group(0).strip() for m in slots.DURATION.finditer(text)]
    if not kinds & {"datetime"}:
        found += [m.group(0).strip() for m in slots._CLOCK.finditer(text)]
    if not kinds & {"datetime", "date"}:
        days = [m.group(0) for p in (slots._DAY_WORDS, slots.MONTH_DATE, slots._ISO_DATE) for m in p.finditer(text)]
        found += [d.strip() for d in days if d.strip().lower() not in _NOW_WORDS]
    return found


def review(tasks: list[Task], registry: ToolRegistry) -> list[Task]:
    """Mark tool tasks with a time or number their tool cannot take: doing them without it would be wrong."""
    for task in tasks:
        checkable = task.kind == TOOL and task.problem is None and not task.lookup  # a lookup's numbers are its test's
        numbers = quantities(unexplained(task, registry)) if checkable else []
        if numbers:
            action = registry.meta(task.tool or "").get("action") or task.tool
            task.problem = f"I couldn't use {', '.join(repr(n) for n in numbers)} with \"{action}\""
    return tasks


def analyse(text: str, registry: ToolRegistry, now: Any = None) -> list[Task]:
    """The request's tasks (`grammar.parse`), each checked for quantities its tool cannot use."""
    return review(grammar.parse(text, registry, now), registry)


def quantities(words: Iterable[str]) -> list[str]:
    return [w for w in words if _QUANTITY.search(w) or slots.DURATION.fullmatch(w) or slots._DAY_WORDS.fullmatch(w)
            or slots.MONTH_DATE.fullmatch(w) or slots._CLOCK.fullmatch(w)]


def tasks_of(request: str, registry: ToolRegistry) -> list[Task]:
    return analyse(request, registry)


def _reason(task: Task) -> str:
    if task.kind == OUT_OF_SCOPE:
        return "none of my tools can do that"
    if task.kind == UNKNOWN:
        return task.problem or "I couldn't tell which tool it needs"
    return task.problem or "no step did it"


def _line(task: Task, reason: str) -> str:
    return f"{NOT_DONE} do \"{task.text}\": {reason}."


def _note(lines: list[str]) -> str:
    return "" if not lines else "\n\n" + "\n".join(lines)


def fast_note(request: str, tool: str | None, registry: ToolRegistry) -> str:
    """The note for a fast-path answer: the parts of the request its one tool call (`tool`) did not cover."""
    tasks = [t for t in tasks_of(request, registry) if t.kind != SMALLTALK]
    if tool in (None, CONVERSATION) or not tasks:
        return ""
    covered = next((t for t in tasks if t.tool == tool), None) or next(
        (t for t in tasks if t.domain == tool.split(".", 1)[0]), None)
    lines = []
    for task in tasks:
        if task is covered:
            if task.problem:
                lines.append(_line(task, task.problem))
            continue
        if task.kind == REASONING:
            lines.append(_line(task, "answering it needs a plan over the result; ask again, or ask it on its own"))
        else:
            lines.append(_line(task, _reason(task) if task.kind != TOOL else "the fast path does one thing at a time; "
                               "ask for it on its own"))
    return _note(lines)


def plan_note(request: str, steps: Iterable[Mapping[str, Any]], registry: ToolRegistry) -> str:
    """The note for a plan's answer: the parts of the request no step of the plan covers."""
    tools = [str(step.get("tool") or "") for step in steps]
    unused = list(tools)
    tasks = tasks_of(request, registry)
    wanted = [t for t in tasks if t.kind == TOOL and t.tool]
    missing = []
    for task in sorted(wanted, key=lambda t: t.problem is not None):  # doable tasks claim the steps first
        match = next((t for t in unused if t == task.tool), None) or next(
            (t for t in unused if t.split(".", 1)[0] == task.domain), None)
        if match is not None:
            unused.remove(match)
        else:
            missing.append(task)
    # A step the request's words did not foresee (an app's own tool) may have done what they could not place.
    other_tools = [t for t in unused if t.split(".", 1)[0] not in vocabulary.REPLY_DOMAINS]
    lines = [] if other_tools else [(tasks.index(t), _line(t, _reason(t))) for t in missing]
    for index, task in enumerate(tasks):
        if task.kind == OUT_OF_SCOPE or (task.kind == UNKNOWN and not unused):
            lines.append((index, _line(task, _reason(task))))
        elif task.kind == REASONING and task.problem:
            lines.append((index, _line(task, task.problem)))
    return _note([line for _, line in sorted(lines)])
