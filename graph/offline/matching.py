"""Tool metadata applied to text: which domain and tool a clause names, and the arguments it fills.

Keywords come from each tool's metadata; slot kinds say what each argument is ("duration_s",
"place", "text", ...), and `slots` finds those values in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plangate.graph.offline import slots
from plangate.graph.offline.vocabulary import FILLER, GENERIC_VERBS
from plangate.tools.registry import CONVERSATION, ToolRegistry

SPECIFIC_SLOTS = {"duration_s", "duration_min", "datetime", "date", "device_state", "number"}
TEXT_SLOTS = {"text", "label", "title"}
SLOT_BONUS = 8
_PRONOUN = re.compile(r"\b(it|them|the result|the results|the answer|what you found|that result)\b", re.IGNORECASE)
WHEN_DONE = re.compile(
    r"\b(when (?:it'?s |you'?re |they'?re |that'?s |all )?(?:done|finished|ready|complete)|with the results?|"
    r"(?:about|of) the results?|with (?:it|that|them)|the outcome)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Hit:
    """A tool keyword found in the text."""

    keyword: str
    start: int
    end: int
    domains: frozenset[str]


def _pattern(keyword: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(keyword)}(?!\w)", re.IGNORECASE)


def domain_keywords(registry: ToolRegistry) -> dict[str, set[str]]:
    return {d: {k for name in registry.tools_in(d) for k in registry.keywords(name)}
            for d in registry.domains() if d != CONVERSATION}


def hits(text: str, registry: ToolRegistry) -> list[Hit]:
    """Every keyword occurrence, with the domains that declare it, in order of position."""
    owners: dict[str, set[str]] = {}
    for domain, keywords in domain_keywords(registry).items():
        for keyword in keywords:
            owners.setdefault(keyword, set()).add(domain)
    found = [Hit(k, m.start(), m.end(), frozenset(d)) for k, d in owners.items() for m in _pattern(k).finditer(text)]
    return sorted(found, key=lambda h: (h.start, -h.end))


def domain_nouns(domain: str, registry: ToolRegistry) -> set[str]:
    """Keywords every tool of the domain declares: they name the domain ("timer", "calendar"), not a tool."""
    sets = [set(registry.keywords(name)) for name in registry.tools_in(domain)]
    return set.intersection(*sets) if sets else set()


def domain_scores(text: str, registry: ToolRegistry) -> dict[str, float]:
    """Keyword weight per domain (longer keyword matches weigh more).

    Keywords several domains share ("cancel": timer and calendar) say little: they count only when the
    text has no keyword unique to one domain, and then split between the domains that share them.
    """
    found = hits(text, registry)
    unique: dict[str, float] = {}
    for hit in found:
        if len(hit.domains) == 1:
            (domain,) = hit.domains
            weight = len(hit.keyword) / (2 if hit.keyword in GENERIC_VERBS else 1)  # "book", "add": any world's verb
            unique[domain] = unique.get(domain, 0.0) + weight
    if unique:
        return unique
    shared: dict[str, float] = {}
    for hit in found:
        for domain in hit.domains:
            shared[domain] = shared.get(domain, 0.0) + len(hit.keyword) / len(hit.domains)
    return shared


def ambiguous(text: str, registry: ToolRegistry) -> bool:
    """True when only keywords several domains share ("cancel") name the domain."""
    found = hits(text, registry)
    return bool(found) and all(len(h.domains) > 1 for h in found)


def best_domain(text: str, registry: ToolRegistry, now: datetime | None = None) -> tuple[str | None, dict[str, float]]:
    """The best-scoring domain; between equals, the one with a tool that can fill a specific slot from the text
    ("delete the yoga class on wednesday": a calendar day, not a timer)."""
    scores = domain_scores(text, registry)
    if not scores:
        return None, scores
    now = now or datetime.now().astimezone()

    found = hits(text, registry)

    def fills(domain: str) -> bool:
        named = [n for n in registry.tools_in(domain) if any(h.keyword in registry.keywords(n) for h in found)]
        return any(_fillable(text, kind, now) for name in named
                   for kind in set(slot_kinds(registry, name).values()) & SPECIFIC_SLOTS)

    best = max(scores, key=lambda d: (scores[d], fills(d)))
    first = next((h for h in found if len(h.domains) == 1), None)
    if first is not None and first.start == 0 and best not in first.domains:
        nouns = domain_nouns(best, registry)  # "draft an email about the meeting": the verb, not the noun, decides
        if all(h.keyword in nouns for h in found if best in h.domains):
            (best,) = first.domains
    return best, scores


def slot_kinds(registry: ToolRegistry, name: str) -> dict[str, str]:
    return dict(registry.meta(name).get("slots", {}))


def _fillable(text: str, kind: str, now: datetime) -> bool:
    probe = {"duration_s": slots.duration_seconds, "duration_min": slots.duration_seconds,
             "datetime": lambda t: slots.datetime_in(t, now), "date": lambda t: slots.date_in(t, now),
             "device_state": slots.device_state_in, "number": slots.number_in}.get(kind)
    return bool(probe and probe(text) is not None)


def _covered(text: str, keywords: list[str]) -> int:
    """Characters of `text` the keywords cover, longest matches first and never twice."""
    taken: list[tuple[int, int]] = []
    for keyword in sorted(keywords, key=len, reverse=True):
        for m in _pattern(keyword).finditer(text):
            if all(m.end() <= a or m.start() >= b for a, b in taken):
                taken.append((m.start(), m.end()))
    return sum(b - a for a, b in taken)


def pick_tool(text: str, domain: str, registry: ToolRegistry, now: datetime | None = None,
              names: list[str] | None = None) -> str:
    """The domain's tool (or one of `names`) whose keywords cover most of the text, plus a bonus per specific
    slot (a duration, a date, a state) the text can fill; ties go to the tool marked default."""
    names = names or registry.tools_in(domain)
    now = now or datetime.now().astimezone()

    def score(name: str) -> tuple[int, bool]:
        kinds = set(slot_kinds(registry, name).values()) & SPECIFIC_SLOTS
        bonus = SLOT_BONUS * sum(1 for kind in kinds if _fillable(text, kind, now))
        bonus += sum(1 for kind in slot_kinds(registry, name).values() if kind == "device" and slots.device_in(text))
        return _covered(text, registry.keywords(name)) + bonus, bool(registry.meta(name).get("default"))

    return max(names, key=score)


def _arg_fields(registry: ToolRegistry, name: str) -> dict[str, dict[str, Any]]:
    schema = registry.provider_schema(name)["function"].get("parameters", {})
    return schema.get("properties", {})


def required_args(registry: ToolRegistry, name: str) -> set[str]:
    schema = registry.provider_schema(name)["function"].get("parameters", {})
    return set(schema.get("required", []))


def refs(previous: list[int]) -> str:
    """References to earlier steps' results; inside text each renders as that step's message (or its text)."""
    return " ".join("{{step_%d}}" % i for i in previous)


def uses_earlier_result(text: str) -> bool:
    return bool(WHEN_DONE.search(text) or _PRONOUN.search(text))


def _text_slot(text: str, keywords: list[str], previous: list[int]) -> str:
    value = slots.text_after(text, keywords)
    if not previous:
        return value
    done = WHEN_DONE.search(value)
    if done:
        rest = (value[: done.start()] + value[done.end():]).strip(" ,.:")
        return f"{rest}: {refs(previous)}" if len(rest.split()) > 2 else f"Done: {refs(previous)}"
    if _PRONOUN.search(text):
        stripped = _PRONOUN.sub("", value).strip(" ,.:")
        # a lone reference would pass the whole output (a dict); with a label it is rendered as text
        return f"Result: {refs(previous)}" if len(stripped.split()) <= 3 else f"{value}: {refs(previous)}"
    return value


def _bare_place(text: str, keywords: list[str]) -> str | None:
    """A place named without "in" ("weather vienna"): the one to three words left after keywords and filler."""
    rest = text
    for keyword in sorted(keywords, key=len, reverse=True):
        rest = _pattern(keyword).sub(" ", rest)
    rest = slots.DURATION.sub(" ", rest)
    words = [w for w in re.findall(r"[^\W\d_][\w'\-]*", rest) if w.lower() not in FILLER]
    if not 0 < len(words) <= 3 or slots.date_in(" ".join(words), datetime.now().astimezone()):
        return None
    return " ".join(w if w[0].isupper() else w.capitalize() for w in words)


def extract_args(text: str, name: str, registry: ToolRegistry, now: datetime,
                 previous: int | list[int] | None = None) -> dict:
    """Fill the tool's arguments from `text` using its declared slot kinds.

    `previous` are the steps this one follows; a text slot that says "with the result" or "when done"
    refers to their messages.
    """
    before = [previous] if isinstance(previous, int) else list(previous or [])
    declared = slot_kinds(registry, name)
    fields = _arg_fields(registry, name)
    args: dict[str, Any] = {}
    own = registry.keywords(name)
    keywords = own + [k for other in registry.tools_in(registry.domain_of(name)) for k in registry.keywords(other)]
    has_duration = "duration_s" in declared.values() and slots.duration_seconds(text) is not None
    place = slots.place_in(text) if "place" in declared.values() else None
    for arg, kind in declared.items():
        value: Any = None
        if kind == "duration_s":
            value = slots.duration_seconds(text)
        elif kind == "duration_min":
            value = slots.duration_minutes(text)
        elif kind == "datetime" and not has_duration:
            found = slots.datetime_in(text, now)
            value = found.isoformat(timespec="minutes") if found else None
        elif kind == "date":
            found = slots.date_in(text, now)
            value = found.date().isoformat() if found else None
        elif kind == "place":
            value = place or (_bare_place(text, keywords) if arg in required_args(registry, name) else None)
        elif kind == "device":
            value = slots.device_in(text)
        elif kind == "device_state":
            value = slots.device_state_in(text)
        elif kind == "number":
            value = slots.number_in(text)
        elif kind == "label":
            value = slots.residue(text, keywords + ["called", "named", "labelled", "timer", "event"]) or None
            if value is None and re.search(r"\b(all|every)\b", text, re.IGNORECASE):
                value = "all"
        elif kind == "title":
            value = slots.title_in(text, keywords, place)
        elif kind == "text":
            value = _text_slot(text, keywords, before)
        elif kind == "reference" and before:
            value = "{{step_%d}}" % before[-1]
        if value is not None:
            if fields.get(arg, {}).get("type") == "integer" and isinstance(value, float):
                value = int(value)
            args[arg] = value
    return args
