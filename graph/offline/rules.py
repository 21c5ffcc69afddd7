"""The rules behind the offline model and the cascade router's first stage.

They understand any domain whose tools declare `keywords` (and `slots` for their arguments):
which domains a request touches, how it splits into steps ("X and Y", "X then Y"), and what
argument values the text holds. Deterministic and free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from plangate.graph.offline import slots
from plangate.tools.registry import CONVERSATION, ToolRegistry

_SPLIT = re.compile(r"\s*(?:;|,?\s+and then\s+|,?\s+then\s+|,\s+and\s+|\s+and\s+|,\s+after that\s+|\.\s+)\s*", re.IGNORECASE)
_THEN = re.compile(r"^(?:and then|then|after that)\b", re.IGNORECASE)
SMALLTALK = re.compile(
    r"^\s*(hi|hello|hey|good (morning|afternoon|evening)|thanks?( you)?|thank you|how are you|who are you|"
    r"what can you do|what are you|help|tell me a joke|bye|goodbye|cheers|see you|good night)\b",
    re.IGNORECASE,
)
_PRONOUN = re.compile(r"\b(it|them|the result|the results|the answer|what you found|that result)\b", re.IGNORECASE)
_WHEN_DONE = re.compile(
    r"\b(when (?:it'?s |you'?re |they'?re |that'?s |all )?(?:done|finished|ready|complete)|with the results?|"
    r"(?:about|of) the results?|with (?:it|that|them)|the outcome)\b",
    re.IGNORECASE,
)
SPECIFIC_SLOTS = {"duration_s", "duration_min", "datetime", "date", "device_state", "number"}
SLOT_BONUS = 8


@dataclass
class Clause:
    """One part of a request, and whether it must wait for the part before it."""

    text: str
    after_previous: bool


@dataclass
class RuleDecision:
    route: Literal["fast", "plan"]
    domain: str
    confidence: float
    reasoning: str


def _hits(text: str, keywords: list[str]) -> list[str]:
    lowered = text.lower()
    return [k for k in keywords if re.search(rf"(?<!\w){re.escape(k)}(?!\w)", lowered)]


def _keyword_hits(text: str, keywords: list[str]) -> int:
    return sum(len(k) for k in _hits(text, keywords))


def _domain_keywords(registry: ToolRegistry) -> dict[str, set[str]]:
    return {d: {k for name in registry.tools_in(d) for k in registry.keywords(name)}
            for d in registry.domains() if d != CONVERSATION}


def domain_scores(text: str, registry: ToolRegistry) -> dict[str, float]:
    """Keyword weight per domain (longer keyword matches weigh more).

    Keywords several domains share ("cancel": timer and calendar) say little: they count only when the
    text has no keyword unique to one domain, and then split between the domains that share them.
    """
    by_domain = _domain_keywords(registry)
    sharing: dict[str, int] = {}
    for keywords in by_domain.values():
        for k in keywords:
            sharing[k] = sharing.get(k, 0) + 1
    hits = {domain: _hits(text, sorted(keywords)) for domain, keywords in by_domain.items()}
    unique = {d: float(sum(len(k) for k in found if sharing[k] == 1)) for d, found in hits.items()}
    if any(unique.values()):
        return {d: score for d, score in unique.items() if score}
    shared = {d: sum(len(k) / sharing[k] for k in found) for d, found in hits.items()}
    return {d: score for d, score in shared.items() if score}


def best_domain(text: str, registry: ToolRegistry) -> tuple[str | None, dict[str, float]]:
    scores = domain_scores(text, registry)
    if not scores:
        return None, scores
    return max(scores, key=lambda d: scores[d]), scores


def split_request(text: str, registry: ToolRegistry) -> list[Clause]:
    """Split on conjunctions, but only where each side is a task of its own ("weather in Paris and London" stays whole)."""
    parts = [p for p in _SPLIT.split(text.strip()) if p and p.strip()]
    separators = _SPLIT.findall(text.strip())
    clauses: list[Clause] = []
    for index, part in enumerate(parts):
        sep = separators[index - 1] if index > 0 and index - 1 < len(separators) else ""
        sequential = bool(_THEN.search(sep.strip(" ,")) or "then" in sep.lower() or "after that" in sep.lower())
        if clauses and best_domain(part, registry)[0] is None:
            joiner = "." if sep.strip().startswith(".") else " and"
            clauses[-1].text = f"{clauses[-1].text}{joiner} {part}"
            continue
        clauses.append(Clause(part.strip(" ."), sequential and bool(clauses)))
    return clauses or [Clause(text.strip(), False)]


def is_smalltalk(text: str, registry: ToolRegistry) -> bool:
    return bool(SMALLTALK.search(text)) and not domain_scores(text, registry)


def decide_route(text: str, registry: ToolRegistry) -> RuleDecision:
    """Route a request by rules, with a confidence that says how sure the rules are."""
    if is_smalltalk(text, registry):
        return RuleDecision("fast", CONVERSATION, 0.97, "rules: small talk, answered directly")
    clauses = split_request(text, registry)
    tasks = [(c, best_domain(c.text, registry)) for c in clauses]
    found = [(c, d, s) for c, (d, s) in tasks if d]
    if not found:
        return RuleDecision("plan", CONVERSATION, 0.5, "rules: no known domain keyword; needs a model or a plan")
    if len(found) >= 2:
        domains = ", ".join(dict.fromkeys(d for _, d, _ in found))
        return RuleDecision("plan", found[0][1], 0.97, f"rules: {len(found)} tasks ({domains}) need a plan")
    clause, domain, scores = found[0]
    places = _places(clause.text, pick_tool(clause.text, domain, registry), registry)
    if len(places) > 1:
        return RuleDecision("plan", domain, 0.97, f"rules: one {domain} request for {len(places)} places needs a plan")
    others = sorted(scores.values(), reverse=True)[1:]
    if others and others[0] * 2 > scores[domain]:
        return RuleDecision("fast", domain, 0.8, f"rules: {domain} likely, but {len(others)} other domain(s) match too")
    if len(clauses) > 1:
        return RuleDecision("fast", domain, 0.85, f"rules: one {domain} task, with extra words that may matter")
    return RuleDecision("fast", domain, 0.97, f"rules: a single {domain} request")


def _places(text: str, name: str, registry: ToolRegistry) -> list[str]:
    """The places a request names, when tool `name` takes a place."""
    return slots.places_in(text) if "place" in registry.meta(name).get("slots", {}).values() else []


def _fillable(text: str, kind: str, now: datetime) -> bool:
    probe = {"duration_s": slots.duration_seconds, "duration_min": slots.duration_seconds,
             "datetime": lambda t: slots.datetime_in(t, now), "date": lambda t: slots.date_in(t, now),
             "device_state": slots.device_state_in, "number": slots.number_in}.get(kind)
    return bool(probe and probe(text) is not None)


def pick_tool(text: str, domain: str, registry: ToolRegistry, now: datetime | None = None) -> str:
    """The domain's tool whose keywords match best, plus a bonus per specific slot (a duration, a date, a
    state) the text can fill; ties go to the tool marked default."""
    names = registry.tools_in(domain)
    now = now or datetime.now().astimezone()

    def score(name: str) -> tuple[int, bool]:
        kinds = set(registry.meta(name).get("slots", {}).values()) & SPECIFIC_SLOTS
        bonus = SLOT_BONUS * sum(1 for kind in kinds if _fillable(text, kind, now))
        return _keyword_hits(text, registry.keywords(name)) + bonus, bool(registry.meta(name).get("default"))

    return max(names, key=score)


def _arg_fields(registry: ToolRegistry, name: str) -> dict[str, dict[str, Any]]:
    schema = registry.provider_schema(name)["function"].get("parameters", {})
    return schema.get("properties", {})


def _refs(previous: list[int]) -> str:
    """References to earlier steps' results; inside text each renders as that step's message (or its text)."""
    return " ".join("{{step_%d}}" % i for i in previous)


def _text_slot(text: str, keywords: list[str], previous: list[int]) -> str:
    value = slots.text_after(text, keywords)
    if not previous:
        return value
    done = _WHEN_DONE.search(value)
    if done:
        rest = (value[: done.start()] + value[done.end():]).strip(" ,.:")
        return f"{rest}: {_refs(previous)}" if len(rest.split()) > 2 else f"Done: {_refs(previous)}"
    if _PRONOUN.search(text):
        stripped = _PRONOUN.sub("", value).strip(" ,.:")
        # a lone reference would pass the whole output (a dict); with a label it is rendered as text
        return f"Result: {_refs(previous)}" if len(stripped.split()) <= 3 else f"{value}: {_refs(previous)}"
    return value


def extract_args(text: str, name: str, registry: ToolRegistry, now: datetime,
                 previous: int | list[int] | None = None) -> dict:
    """Fill the tool's arguments from `text` using its declared slot kinds.

    `previous` are the steps this one follows; a text slot that says "with the result" or "when done"
    refers to their messages.
    """
    before = [previous] if isinstance(previous, int) else list(previous or [])
    meta = registry.meta(name)
    declared: dict[str, str] = meta.get("slots", {})
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
            value = place
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


def draft_plan(text: str, registry: ToolRegistry, now: datetime) -> dict[str, Any]:
    """A plan dict (PlanDraft shape) for `text`: one step per clause.

    Clauses joined by "and" form a group that runs in parallel; "then" starts a new group that waits
    for every step of the group before it ("A and B, then C": C after A and B). A clause that uses an
    earlier result ("with the result", "when done") waits for the group before it too.
    """
    steps: list[dict[str, Any]] = []
    group: list[int] = []
    waits_for: list[int] = []
    for clause in split_request(text, registry):
        domain, _ = best_domain(clause.text, registry)
        uses_result = bool(steps) and bool(_WHEN_DONE.search(clause.text) or _PRONOUN.search(clause.text))
        if steps and (clause.after_previous or uses_result):
            waits_for, group = list(group), []
        if domain is None:
            name = "llm.generate" if "llm.generate" in registry else None
            if name is None:
                continue
            args: dict[str, Any] = {"prompt": clause.text}
            if waits_for:
                args["context"] = _refs(waits_for)
        else:
            name = pick_tool(clause.text, domain, registry, now)
            args = extract_args(clause.text, name, registry, now, waits_for)
        places = _places(clause.text, name, registry) if domain else []
        place_arg = next((a for a, k in registry.meta(name).get("slots", {}).items() if k == "place"), None)
        for place in places if len(places) > 1 and place_arg else [None]:
            step_id = len(steps) + 1
            step_args = {**args, place_arg: place} if place and place_arg else args
            description = f"{clause.text} ({place})" if place else clause.text
            steps.append({"id": step_id, "tool": name, "args": step_args, "description": description,
                          "depends_on": list(waits_for)})
            group.append(step_id)
    return {"goal": text.strip(), "reasoning": f"rules: {len(steps)} step(s) from the request's clauses", "steps": steps}


def _label(item: dict[str, Any]) -> str:
    text = re.sub(r"^retry of step \d+: ", "", item.get("description") or item.get("tool") or f"step {item.get('id')}")
    return text[:1].lower() + text[1:]


def summarize(request: str, results: list[dict[str, Any]], registry: ToolRegistry | None = None) -> str:
    """A readable answer from step results: what was done, then what failed or was skipped and why.

    Steps that a replan retried are reported once, by their retry. `registry` (optional) gives tools'
    `action` phrases: "I couldn't get the weather: ...".
    """
    retried = {int(m.group(1)) for item in results
               if (m := re.match(r"retry of step (\d+):", item.get("description") or ""))}
    done, problems = [], []
    for item in results:
        if item.get("id") in retried:
            continue
        status, output = item.get("status"), item.get("output")
        if status == "completed":
            done.append(_describe_output(output, _label(item)))
        elif status == "failed":
            action = _action(item, registry)
            problems.append(f"I couldn't {action}: {item.get('error')}")
        elif status == "skipped":
            reason = re.sub(r"(not run: )?step\(s\) \[[\d, ]+\] it needs failed", "a step it needed failed",
                            item.get("error") or "not needed")
            problems.append(f"Skipped {_label(item)}: {reason}")
    if not done and not problems:
        return "There was nothing to do for that request."
    if not problems:
        return done[0] if len(done) == 1 else "Done:\n" + "\n".join(f"- {line}" for line in done)
    if not done:
        return problems[0] if len(problems) == 1 else "Nothing was done:\n" + "\n".join(f"- {p}" for p in problems)
    return ("Done:\n" + "\n".join(f"- {line}" for line in done) + "\nNot done:\n"
            + "\n".join(f"- {p}" for p in problems))


def _action(item: dict[str, Any], registry: ToolRegistry | None) -> str:
    tool = item.get("tool") or ""
    if registry is not None and tool in registry:
        action = registry.meta(tool).get("action")
        if action:
            return f"{action} ({_label(item)})" if _label(item) != tool else action
    return _label(item)


def _describe_output(output: Any, label: str) -> str:
    if isinstance(output, dict) and isinstance(output.get("message"), str):
        return output["message"]
    if isinstance(output, list):
        parts = [_describe_output(o, label) for o in output]
        return f"{label}: " + "; ".join(parts)
    text = str(output)
    return f"{label}: {text[:300]}" if text else f"{label}: done"
