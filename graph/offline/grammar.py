"""The offline rules' grammar: a request becomes a list of tasks.

    request   := clause (join clause)*          join: and, then, also, ",", ";", "?", "."
    clause    := condition? action condition?   condition: "if/when ..." (see conditionals.py)
    action    := a tool clause                  a keyword names the tool, slots fill its arguments
               | an ellipsis                    "and another for 20 minutes", "and in Rome": the verb carries over
               | a reasoning question           "do I need a jacket?": answered from the results before it
               | small talk | out of scope | unknown

Words come from tool metadata (keywords, slot kinds) and from `vocabulary`; nothing here names a tool.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from plangate.graph.offline import conditionals, matching, slots, vocabulary
from plangate.graph.offline.task import (
    INHERITABLE,
    OUT_OF_SCOPE,
    REASONING,
    SMALLTALK,
    TOOL,
    UNKNOWN,
    Task,
    previous_tool,
    tool_task,
)
from plangate.tools.registry import ToolRegistry

_SEQ = r"and then|and after that|after that|afterwards|then"
_PAR = r"and also|and|also|plus|as well as|or"
_JOIN = re.compile(rf"(\s*(?:(?<=[\w\"')])[;!?]+|\.(?=\s|$)|,)\s*(?:(?:{_SEQ}|{_PAR})\b)?\s*|\s+(?:{_SEQ}|{_PAR})\s+|\s*[&+]\s+)",
                   re.IGNORECASE)
_SMALLTALK = re.compile(vocabulary.SMALLTALK, re.IGNORECASE)
_REASONING = [re.compile(p, re.IGNORECASE) for p in vocabulary.REASONING]
_OUT_OF_SCOPE = [re.compile(p, re.IGNORECASE) for p in vocabulary.OUT_OF_SCOPE]
_ADVICE = re.compile("|".join(f"(?:{p})" for p, _, _ in vocabulary.ADVICE), re.IGNORECASE)
_OPENER = re.compile(r"^(?:(?:" + "|".join(sorted(map(re.escape, vocabulary.OPENERS), key=len, reverse=True))
                     + r")\b[\s,!.]*)+", re.IGNORECASE)
_QUESTION = re.compile(vocabulary.QUESTION, re.IGNORECASE)
_VERB = re.compile(r"^(?:" + "|".join(vocabulary.ACTION_VERBS) + r")\b", re.IGNORECASE)
_QUOTED = re.compile(r"\"[^\"]*\"|(?<!\w)'[^']*'(?!\w)")
_DIGEST = re.compile(vocabulary.DIGEST, re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9'][a-z0-9'\-]*", re.IGNORECASE)


def content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in vocabulary.FILLER]


def normalize(text: str) -> str:
    """Typos fixed, compound durations joined ("1 hour and 30 minutes"), shared units spread ("5 and 10 minutes")."""
    out = " ".join(text.replace("“", '"').replace("”", '"').replace("’", "'").split())
    out = re.sub(r"\b[\w']+\b", lambda m: vocabulary.TYPOS.get(m.group(0).lower(), m.group(0)), out)
    out = re.sub(r"\b(?:an|one|1) hour and (?:a )?half\b", "90 minutes", out, flags=re.IGNORECASE)
    out = re.sub(r"\b(\d+) and a half (hours?|minutes?)\b", r"\1.5 \2", out, flags=re.IGNORECASE)
    out = re.sub(r"\b(\d+|an?|one)\s*(hours?|h)\s*(?:,\s*|and\s+)?(\d+)\s*(minutes?|m)\b", r"\1 \2 \3 \4", out,
                 flags=re.IGNORECASE)
    unit = r"(seconds?|minutes?|hours?|days?)"
    spread = re.compile(rf"\b(\d+)((?:\s*,\s*\d+)*)\s*,?\s*(and|or)\s+(\d+)\s+{unit}\b", re.IGNORECASE)

    def add_units(match: re.Match[str]) -> str:
        numbers = [match.group(1), *re.findall(r"\d+", match.group(2))]
        name = match.group(5)
        head = ", ".join(f"{n} {name}" for n in numbers)
        return f"{head} {match.group(3)} {match.group(4)} {name}"

    return spread.sub(add_units, out).strip()


def split(text: str) -> list[tuple[str, bool]]:
    """(piece, waits for the pieces before) for each piece between joins."""
    quoted = [(m.start(), m.end()) for m in _QUOTED.finditer(text)]
    parts = _JOIN.split(text) if not quoted else _split_outside(text, quoted)
    pieces: list[tuple[str, bool]] = []
    sequential = False
    for index, part in enumerate(parts):
        if index % 2:  # a separator
            sequential = bool(re.search(rf"\b(?:{_SEQ})\b", part, re.IGNORECASE))
            continue
        piece = part.strip(" .,;!?\"'")
        if piece:
            pieces.append((piece, sequential))
        sequential = False
    return pieces


def _split_outside(text: str, quoted: list[tuple[int, int]]) -> list[str]:
    """Like _JOIN.split, but a join inside quotes is part of the quoted words."""
    parts, last = [], 0
    for match in _JOIN.finditer(text):
        if any(a <= match.start() < b for a, b in quoted):
            continue
        parts += [text[last:match.start()], match.group(0)]
        last = match.end()
    return [*parts, text[last:]]


def strip_opener(piece: str) -> str:
    return _OPENER.sub("", piece).strip(" ,.!?") or piece


def _is_reasoning(text: str) -> bool:
    return any(p.search(text) for p in _REASONING)


def _out_of_scope(text: str, hits: list[matching.Hit]) -> bool:
    return any(p.search(text) for p in _OUT_OF_SCOPE) and all(h.keyword in vocabulary.GENERIC_VERBS for h in hits)


def choose_tool(text: str, domain: str, registry: ToolRegistry, now: datetime) -> str:
    """The domain's tool for `text`; a question ("is the door locked?") picks among tools without side effects."""
    names = registry.tools_in(domain)
    if _QUESTION.search(text.strip()):
        names = [n for n in names if not registry.has_side_effects(n)] or names
    return matching.pick_tool(text, domain, registry, now, names)


def _own_values(piece: str, tool: str, registry: ToolRegistry, now: datetime) -> dict[str, Any]:
    kinds = matching.slot_kinds(registry, tool)
    return {a: v for a, v in matching.extract_args(piece, tool, registry, now).items() if kinds.get(a) not in matching.TEXT_SLOTS}


def _parallel_text(piece: str, before: Task, registry: ToolRegistry) -> Task | None:
    """"notes about taxes and about insurance": the same preposition again starts a second free-text value."""
    lead = re.match(r"(about|for|on|regarding|mentioning)\s+(\S.*)", piece, re.IGNORECASE)
    kinds = matching.slot_kinds(registry, before.tool or "")
    arg = next((a for a, k in kinds.items() if k == "text" and a in before.args), None)
    if not lead or arg is None or not re.search(rf"\b{lead.group(1)}\s+\w", before.text, re.IGNORECASE):
        return None
    return Task(piece, TOOL, before.tool, {**before.args, arg: lead.group(2)}, ellipsis=True)


def _ellipsis(piece: str, tasks: list[Task], registry: ToolRegistry, now: datetime) -> Task | None:
    """`piece` as one more task for the tool before it ("another for 20 minutes", "and London"), if it fills a slot."""
    before = previous_tool(tasks)
    if before is None or before.tool is None or before.domain is None:
        return None
    tool = before.tool
    own = _own_values(piece, tool, registry, now)
    if not own:
        parallel = _parallel_text(piece, before, registry)
        if parallel is not None:
            return parallel
    if not own:  # "cancel the tea timer and set a new one for 6 minutes": another tool of the domain takes it
        tool = matching.pick_tool(piece, before.domain, registry, now)
        own = _own_values(piece, tool, registry, now)
    kinds = matching.slot_kinds(registry, tool)
    words = content_words(piece)
    if not own and "place" in kinds.values() and "place" in [kinds.get(a) for a in before.args] and 0 < len(words) <= 3 \
            and not matching.hits(piece, registry):
        place_arg = next(a for a, k in kinds.items() if k == "place")
        own[place_arg] = " ".join(w.capitalize() for w in piece.split() if w.lower() not in vocabulary.FILLER)
    if "device" in kinds.values() and not own.get("device"):  # "the bedroom" after "turn off the kitchen lights"
        room = slots.room_in(piece)
        if room and before.args.get("device"):
            own["device"] = f"{room} {slots.device_noun(str(before.args['device']))}".strip()
    if not own:
        return None
    args = matching.extract_args(piece, tool, registry, now)
    theirs = matching.slot_kinds(registry, before.tool)
    for arg, kind in kinds.items():
        source = next((a for a, k in theirs.items() if k == kind), None)
        carried = kind in ("place", "device") or (kind in INHERITABLE and before.tool == tool)
        if carried and arg not in own and source in before.args:
            args[arg] = before.args[source]
    args.update(own)
    return Task(piece, TOOL, tool, args, ellipsis=True)


def _absorb(piece: str, tasks: list[Task], registry: ToolRegistry, now: datetime) -> bool:
    """Join `piece` to the task before when that task takes free text ("remember that X and Y")."""
    before = tasks[-1] if tasks else None
    if before is None or before.kind != TOOL or before.tool is None or before.lookup or _VERB.match(piece):
        return False
    if not set(matching.slot_kinds(registry, before.tool).values()) & {"text", "title"}:
        return False
    before.text = f"{before.text} and {piece}"
    before.args = {**before.args, **matching.extract_args(before.text, before.tool, registry, now)}
    return True


def opens_with_keyword(text: str, registry: ToolRegistry) -> bool:
    """Whether the clause starts with one of its domain's keywords (an imperative: "write a haiku")."""
    found = matching.hits(unquoted(strip_opener(text)), registry)
    return bool(found) and found[0].start == 0


def unquoted(text: str) -> str:
    """`text` with quoted words blanked: "that reads "Meeting moved"" names no calendar task."""
    blanked = _QUOTED.sub(lambda m: " " * len(m.group(0)), text)
    colon = re.search(r"^\s*\w[^:]*?:\s", blanked)  # "ping me: meeting moved to 3pm": what follows is the message
    return blanked[: colon.end()] + " " * (len(blanked) - colon.end()) if colon else blanked


def classify(piece: str, tasks: list[Task], registry: ToolRegistry, now: datetime, sequential: bool) -> list[Task]:
    """The task(s) one piece adds; [] when it only adds words to the task before."""
    found = matching.hits(unquoted(piece), registry)
    if not content_words(piece) and not found:
        return [Task(piece, UNKNOWN, sequential=sequential)] if _VERB.match(piece) else []  # "set it to that now"
    if _out_of_scope(piece, found):
        return [Task(piece, OUT_OF_SCOPE)]
    domain, scores = matching.best_domain(unquoted(piece), registry)
    context = previous_tool(tasks)
    if domain is not None and matching.ambiguous(unquoted(piece), registry) and context and context.domain in scores:
        domain = context.domain  # "what timers are running and cancel the pasta one": the timer just named
    if domain is not None:
        task = tool_task(piece, choose_tool(unquoted(piece), domain, registry, now), registry, now, tasks)
        task.sequential = sequential
        first = next((h for h in found if len(h.domains) == 1), None)  # the verb's domain disagrees: contested
        task.ambiguous = matching.ambiguous(unquoted(piece), registry) or (first is not None and domain not in first.domains)
        same = next((t for t in tasks if t.kind == TOOL and t.tool == task.tool and t.args == task.args), None)
        reasoning = Task(piece, REASONING, derived=True) if _is_reasoning(piece) and domain not in vocabulary.REPLY_DOMAINS else None
        kinds = set(matching.slot_kinds(registry, task.tool or "").values())
        if reasoning is not None and "text" in kinds and tasks and _DIGEST.search(piece):
            task.refers = task.sequential = True  # "send a summary to my phone": summarize, then send it
            return [Task(piece, REASONING, sequential=sequential), task]
        # "how's the weather in Milan, is it t-shirt weather?": the question needs no second lookup
        return [t for t in ((None if same and reasoning else task), reasoning) if t is not None]
    if _is_reasoning(piece) or (_ADVICE.search(piece) and re.search(r"\b(?:i|we)\b", piece, re.IGNORECASE)):
        if previous_tool(tasks) is None and _ADVICE.search(piece):  # "do I need a coat in Oslo": look it up first
            lookup = tool_task(piece, matching.pick_tool(piece, vocabulary.ADVICE_DOMAIN, registry, now), registry, now, tasks) \
                if vocabulary.ADVICE_DOMAIN in registry.domains() else None
            if lookup is not None:
                lookup.lookup = True
                return [lookup, Task(piece, REASONING, sequential=True)]
        return [Task(piece, REASONING, sequential=sequential)]
    if _SMALLTALK.search(piece) and not found:
        return [Task(piece, SMALLTALK)]
    extra = _ellipsis(piece, tasks, registry, now)
    if extra is not None:
        extra.sequential = sequential
        return [extra]
    if not sequential and _absorb(piece, tasks, registry, now):
        return []
    return [Task(piece, UNKNOWN, sequential=sequential)]


def _drop_headers(tasks: list[Task], registry: ToolRegistry) -> list[Task]:
    """"set two timers, one for 3 minutes and one for 8": the first clause only announces the ones after it."""
    kept = []
    for index, task in enumerate(tasks):
        later = [t for t in tasks[index + 1:] if t.kind == TOOL and t.domain == task.domain and t.ellipsis]
        kinds = matching.slot_kinds(registry, task.tool) if task.tool else {}
        missing = task.tool is not None and not any(kinds.get(a) not in matching.TEXT_SLOTS for a in task.args)
        if task.kind == TOOL and missing and len(later) >= 2 and not task.lookup and task.condition is None:
            continue
        kept.append(task)
    return kept


def _lend_nouns(tasks: list[Task], registry: ToolRegistry) -> None:
    """"the kitchen and bedroom lights": a room with no device borrows the device noun of the task after it."""
    for task, after in zip(tasks, tasks[1:], strict=False):
        if task.kind != TOOL or after.tool != task.tool or not after.args.get("device"):
            continue
        kinds = matching.slot_kinds(registry, task.tool or "")
        arg = next((a for a, k in kinds.items() if k == "device"), None)
        room = slots.room_in(task.text)
        if arg and room and not task.args.get(arg):
            task.args[arg] = f"{room} {slots.device_noun(str(after.args['device']))}".strip()


def _specific_args(tool: str, registry: ToolRegistry) -> set[str]:
    return {a for a, k in matching.slot_kinds(registry, tool).items() if k in matching.SPECIFIC_SLOTS}


def parse(text: str, registry: ToolRegistry, now: datetime | None = None) -> list[Task]:
    """The tasks of a request, in order; conditions become lookups plus conditional tasks."""
    now = now or datetime.now().astimezone()
    tasks: list[Task] = []
    pending: str | None = None
    for raw, sequential in split(normalize(text)):
        piece = strip_opener(raw)
        smalltalk = _SMALLTALK.match(raw)
        if smalltalk and not matching.hits(raw, registry) and smalltalk.end() >= len(raw.strip()):
            tasks.append(Task(raw, SMALLTALK))  # "can you hear me": the opener is part of the small talk
            continue
        condition, action = conditionals.split_condition(piece, registry)
        if condition is not None and not action:
            pending = condition  # "if it rains tomorrow," applies to the clause after it
            continue
        added = classify(action or piece, tasks, registry, now, sequential)
        condition = condition if condition is not None else pending
        pending = None
        if condition is not None:
            target = next((t for t in added if t.kind in (TOOL, REASONING)), None)
            if target is None:
                added = [Task(f"if {condition}, {action or piece}", UNKNOWN)]
            else:
                lookups = conditionals.attach(target, condition, tasks, registry, now)
                added = lookups + added
        tasks.extend(added)
    if pending is not None:
        tasks.append(Task(f"if {pending}", UNKNOWN, problem="it names a condition but nothing to do"))
    _lend_nouns(tasks, registry)
    derived = [t for t in tasks if t.derived]
    ordered = [t for t in tasks if not t.derived] + derived  # "compare A and B": after both lookups
    return _drop_headers(ordered, registry)
