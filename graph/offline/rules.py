"""The rules behind the offline model and the cascade router's first stage.

`grammar` turns a request into tasks (tool clauses, ellipses, conditions, reasoning questions, small
talk, out-of-scope asks); `coverage` says whether every word is accounted for. The rules are sure
(confidence 0.97) only then; anything left over makes them unsure, so the cascade asks a model and,
offline, the request takes the plan path, whose answer names what was not done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from plangate.graph.offline import coverage, grammar
from plangate.graph.offline.matching import (  # noqa: F401  (re-exported: the rules' public names)
    best_domain,
    domain_scores,
    extract_args,
    pick_tool,
    refs,
    required_args,
    uses_earlier_result,
)
from plangate.graph.offline.task import OUT_OF_SCOPE, REASONING, TOOL, UNKNOWN, Task
from plangate.graph.offline.vocabulary import REPLY_DOMAINS
from plangate.graph.offline.vocabulary import SMALLTALK as SMALLTALK_PATTERN
from plangate.tools.registry import CONVERSATION, ToolRegistry

SMALLTALK = re.compile(SMALLTALK_PATTERN, re.IGNORECASE)  # the pattern chat_model's replies key on
SURE, UNSURE_WORDS, UNSURE_PART, LOST = 0.97, 0.8, 0.6, 0.5


@dataclass
class RuleDecision:
    route: Literal["fast", "plan"]
    domain: str
    confidence: float
    reasoning: str


def decide_route(text: str, registry: ToolRegistry, now: datetime | None = None) -> RuleDecision:
    """Route a request by rules, with a confidence that says whether every part of it is accounted for."""
    tasks = coverage.analyse(text, registry, now)
    doable = [t for t in tasks if t.actionable]
    undone = [t for t in tasks if t.kind in (OUT_OF_SCOPE, UNKNOWN) or t.problem]
    loose = {id(t): coverage.unexplained(t, registry) for t in doable}
    words = sorted({w for found in loose.values() for w in found})
    words += [f"{t.text!r} names several domains" for t in doable if t.ambiguous]
    for task in doable:
        fills = task.kind == TOOL and task.tool and registry.meta(task.tool).get("slots")  # else the model fills them
        missing = required_args(registry, task.tool) - set(task.args) if fills and task.tool else set()
        words += [f"{task.text!r} needs {', '.join(sorted(missing))}"] if missing else []
    if not doable:
        if not undone:
            return RuleDecision("fast", CONVERSATION, SURE, "rules: small talk, answered directly")
        if all(t.kind == OUT_OF_SCOPE for t in undone):
            return RuleDecision("fast", CONVERSATION, SURE, "rules: asks for something no tool does; answered directly")
        stuck = next((t for t in undone if t.kind == TOOL), None)
        if stuck is not None:
            return RuleDecision("plan", stuck.domain or CONVERSATION, UNSURE_PART, f"rules: {stuck.problem}")
        return RuleDecision("plan", CONVERSATION, LOST, "rules: no known domain keyword; needs a model or a plan")
    domains = list(dict.fromkeys(t.domain or "llm" for t in doable))
    first = next((t.domain for t in doable if t.domain), CONVERSATION)
    unsure = ""
    if undone:
        parts = "; ".join(f"{t.text!r} ({t.problem or t.kind.replace('_', ' ')})" for t in undone)
        unsure = f"; not accounted for: {parts}"
    elif words:
        unsure = f"; words not accounted for: {', '.join(words)}"
    confidence = SURE if not unsure else (UNSURE_PART if undone else UNSURE_WORDS)
    single = len(doable) == 1 and doable[0].kind == TOOL and doable[0].condition is None
    if single and not undone and first in REPLY_DOMAINS:
        opens = grammar.opens_with_keyword(doable[0].text, registry)  # "write a haiku", not "where did I write it down"
        return RuleDecision("fast", CONVERSATION, confidence if opens else UNSURE_WORDS,
                            f"rules: asks for writing, answered directly{unsure}")
    if single and not undone:
        return RuleDecision("fast", first, confidence, f"rules: a single {first} request{unsure}")
    kinds = [t for t in doable if t.kind == TOOL]
    what = f"{len(kinds)} action(s) in {', '.join(d for d in domains)}"
    if any(t.condition for t in doable):
        what += ", with a condition"
    if any(t.kind == REASONING for t in doable):
        what += ", and a question about the results"
    return RuleDecision("plan", first, confidence, f"rules: {what}: a plan{unsure}")


def _text_args(task: Task, registry: ToolRegistry, now: datetime, waits: list[int]) -> dict[str, Any]:
    """The task's arguments; free text that uses earlier results ("with the result") refers to `waits`."""
    args = dict(task.args)
    if waits and task.tool:
        fresh = extract_args(task.text, task.tool, registry, now, waits)
        kinds = registry.meta(task.tool).get("slots", {})
        args.update({a: v for a, v in fresh.items() if kinds.get(a) == "text"})
        if task.refers:  # "send a summary": the text is the step before's result
            args.update({a: f"{args.get(a) or task.text}: {refs(waits)}" for a, k in kinds.items()
                         if k == "text" and "{{" not in str(args.get(a) or "")})
    return args


def _conditional_text(task: Task, args: dict[str, Any], registry: ToolRegistry, step: int) -> dict[str, Any]:
    """A conditional message with no words of its own ("text me if it's below zero") says what happened."""
    kinds = registry.meta(task.tool or "").get("slots", {})
    for arg, kind in kinds.items():
        value = str(args.get(arg) or "")
        if kind == "text" and (not grammar.content_words(value) or value.strip().lower() == task.text.strip().lower()):
            args[arg] = f"{task.condition_text[:1].upper()}{task.condition_text[1:]}: {{{{step_{step}}}}}"
    return args


def draft_plan(text: str, registry: ToolRegistry, now: datetime) -> dict[str, Any]:
    """A plan dict (PlanDraft shape) for `text`: one step per task the rules can do.

    Tasks joined by "and" form a group that runs in parallel; "then" starts a new group that waits for
    every step of the group before it ("A and B, then C": C after A and B). A task that uses an earlier
    result ("with the result", "when done") waits for the group before it too; a conditional task waits
    for the step its condition reads; a reasoning question gets an `llm.generate` step over the results.
    What the rules cannot do gets no step: the answer names it (see `coverage.plan_note`).
    """
    tasks = coverage.analyse(text, registry, now)
    steps: list[dict[str, Any]] = []
    step_of: dict[int, int] = {}
    group: list[int] = []
    waits: list[int] = []
    for task in tasks:
        if not task.actionable or (task.kind == REASONING and "llm.generate" not in registry):
            continue
        uses_result = task.kind == TOOL and bool(steps) and uses_earlier_result(task.text) and task.condition is None
        if steps and (task.sequential or uses_result):
            waits, group = list(group), []
        step_id = len(steps) + 1
        if task.kind == REASONING or task.domain in REPLY_DOMAINS:
            before = sorted(step_of.values()) if task.kind == REASONING or uses_result or task.sequential else []
            step = {"tool": "llm.generate", "args": {"prompt": task.text, **({"context": refs(before)} if before else {})},
                    "depends_on": before}
        else:
            args = _text_args(task, registry, now, waits)
            step = {"tool": task.tool, "args": args, "depends_on": list(waits)}
            if task.condition is not None:
                on = step_of.get(id(task.condition["on"]))
                if on is None:
                    continue
                step["args"] = _conditional_text(task, args, registry, on)
                step["type"] = "conditional"
                step["condition"] = {k: v for k, v in task.condition.items() if k != "on" and v is not None} | {"step": on}
                step["depends_on"] = sorted({*step["depends_on"], on})
        steps.append({"id": step_id, "description": task.text, **step})
        step_of[id(task)] = step_id
        group.append(step_id)
    if not steps and not any(t.kind in (TOOL, REASONING, SMALLTALK, OUT_OF_SCOPE) for t in tasks) and "llm.generate" in registry:
        steps.append({"id": 1, "tool": "llm.generate", "args": {"prompt": text.strip()}, "description": text.strip(),
                      "depends_on": []})
    plan = {"goal": text.strip(), "reasoning": f"rules: {len(steps)} step(s) from the request's clauses", "steps": steps}
    template = answer_template(steps, registry)
    return {**plan, "answer": template} if template else plan


def answer_template(steps: list[dict[str, Any]], registry: ToolRegistry) -> str | None:
    """For a plan of tool actions and lookups, the answer `summarize` would write when every step completes, as
    step references: each tool's own message says what it did or found, so no model is needed. None when a step
    is a reasoning (`llm.generate`) step: that answer needs a model."""
    if not steps or any(s["tool"] == "llm.generate" or s["tool"] not in registry for s in steps):
        return None
    refs = [f"{{{{step_{s['id']}.message}}}}" for s in steps]
    return refs[0] if len(refs) == 1 else "Done:\n" + "\n".join(f"- {r}" for r in refs)


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
