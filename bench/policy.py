"""What the bench model answers: the reply a competent model gives each system for the current task.

The kind of request is read from the bound tools (a schema name, or the task's tools) and the
progress from the conversation (tool results, step results, past steps), never from hidden state,
so a system that loses information pays for it with extra calls like it would with a real model.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from bench.tasks import Ref, Task, conclusion_text
from bench.tools import tool_value

PE_STEP_MARKER = "You are tasked with executing step 1, "  # the P&E tutorial's step prompt
PE_PAST_MARKER = "You have currently done the following steps:"
_STEP_RESULTS = re.compile(r"<step_results>\s*(.*?)\s*</step_results>", re.DOTALL)
_PLAN_STATE = re.compile(r"<plan_state>\s*(.*?)\s*</plan_state>", re.DOTALL)


def _call(name: str, args: dict[str, Any], call_id: str | None = None) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id or f"call_{uuid.uuid4().hex[:8]}",
                                              "type": "tool_call"}])


def _text(message: BaseMessage) -> str:
    return message.content if isinstance(message.content, str) else json.dumps(message.content, default=str)


def answer_text(task: Task, status: dict[int, str], conclusion: str | None = None) -> str:
    """The final answer, the same words for every system given the same outcome (and, for a reasoning task, the
    conclusion the model drew from the results it saw)."""
    words = {"ok": "done", "failed": "failed"}
    parts = [f"{s.description}: {words.get(status.get(s.id, 'not_run'), 'not done')}" for s in task.steps]
    text = "Here is what happened: " + "; ".join(parts) + "."
    conclusion = conclusion if conclusion is not None else task.conclusion()
    return f"{text} {conclusion}" if conclusion else text


def _plangate_args(args: dict[str, Any]) -> dict[str, Any]:
    return {k: "{{step_%d.value}}" % v.step if isinstance(v, Ref) else v for k, v in args.items()}


def _compiler_args(args: dict[str, Any]) -> dict[str, Any]:
    return {k: f"${v.step}" if isinstance(v, Ref) else v for k, v in args.items()}


# plangate ---------------------------------------------------------------------------------------
def route(task: Task) -> AIMessage:
    domain = task.steps[0].tool.split(".")[0]
    reasoning = "one action in one domain" if task.simple else f"{len(task.steps)} actions"
    return _call("RouteDecision", {"route": "fast" if task.simple else "plan", "domain": domain,
                                   "confidence": 0.99, "reasoning": reasoning})


def plangate_plan(task: Task) -> AIMessage:
    """The plan, with an answer template unless the answer needs reasoning over the results."""
    steps = [{"id": s.id, "tool": s.tool, "args": _plangate_args(s.args), "description": s.description,
              "depends_on": sorted(s.prerequisites())} for s in task.steps]
    draft = {"goal": task.request, "reasoning": f"{len(steps)} steps; independent ones in parallel", "steps": steps}
    if task.cls != "reasoning":
        draft["answer"] = "Here is what happened: " + "; ".join(
            f"{s.description}: {{{{step_{s.id}.message}}}}" for s in task.steps) + "."
    return _call("PlanDraft", draft)


def _statuses(rows: list[dict[str, Any]] | dict[str, Any]) -> dict[int, str]:
    items = rows.items() if isinstance(rows, dict) else ((r["id"], r) for r in rows)
    return {int(k): {"completed": "ok", "failed": "failed"}.get(v["status"], "not_run") for k, v in items}


def _best(task: Task, outputs: dict[int, Any]) -> str | None:
    """The conclusion drawn from the step outputs the model was shown (the highest `value`)."""
    if task.cls != "reasoning":
        return None
    values = {i: o.get("value", "") for i, o in outputs.items() if isinstance(o, dict)}
    return conclusion_text(task.step(max(values, key=values.__getitem__)).description) if values else None


def plangate_summary(task: Task, messages: list[BaseMessage]) -> AIMessage:
    status: dict[int, str] = {}
    outputs: dict[int, Any] = {}
    for message in messages:
        found = _STEP_RESULTS.search(_text(message))
        if found:
            rows = json.loads(found.group(1))
            status.update(_statuses(rows))
            outputs.update({int(r["id"]): r.get("output") for r in rows})
    return AIMessage(content=answer_text(task, status, _best(task, outputs) or ""))


def plangate_replan(task: Task, messages: list[BaseMessage]) -> AIMessage:
    """The bench tools fail permanently: finish, and write the answer in the same call."""
    state: dict[str, Any] = {}
    for message in messages:
        found = _PLAN_STATE.search(_text(message))
        if found:
            state = json.loads(found.group(1))
    status = _statuses(state.get("results") or {})
    return _call("ReplanDecision", {"decision": {"action": "finish", "reasoning": "the failures are permanent",
                                                 "answer": answer_text(task, status)}})


def fast_call(task: Task) -> AIMessage:
    step = task.steps[0]
    return _call(step.tool.replace(".", "__"), task.resolved_args(step.id))


# ReAct --------------------------------------------------------------------------------------------
def _tool_progress(task: Task, messages: list[BaseMessage]) -> tuple[set[int], dict[int, str]]:
    """Steps already called, and the result status of each answered call (ids are `s<step>_...`)."""
    issued: set[int] = set()
    status: dict[int, str] = {}
    for message in messages:
        if isinstance(message, AIMessage):
            issued.update(int(c["id"].split("_")[0][1:]) for c in message.tool_calls or [] if c["id"].startswith("s"))
        elif isinstance(message, ToolMessage) and message.tool_call_id.startswith("s"):
            failed = message.status == "error" or _text(message).startswith("Error")
            status[int(message.tool_call_id.split("_")[0][1:])] = "failed" if failed else "ok"
    return issued, status


def react(task: Task, messages: list[BaseMessage]) -> AIMessage:
    """Call every step whose inputs are ready (parallel tool calls); answer when nothing is left."""
    issued, status = _tool_progress(task, messages)
    ready = [s for s in task.steps if s.id not in issued and all(status.get(p) == "ok" for p in s.prerequisites())]
    if not ready:
        return AIMessage(content=answer_text(task, status))
    calls = [{"name": s.tool.split(".")[1], "args": task.resolved_args(s.id), "id": f"s{s.id}_{uuid.uuid4().hex[:6]}",
              "type": "tool_call"} for s in ready]
    return AIMessage(content="", tool_calls=calls)


# P&E tutorial -------------------------------------------------------------------------------------
def pe_plan(task: Task) -> AIMessage:
    return _call("Plan", {"steps": [s.description for s in task.steps]})


def pe_step(task: Task, messages: list[BaseMessage]) -> AIMessage:
    """The per-step ReAct agent: call the step's tool, then report its result."""
    prompt = next(_text(m) for m in messages if isinstance(m, HumanMessage))
    wanted = prompt.split(PE_STEP_MARKER, 1)[1].strip().rstrip(".")
    step = next(s for s in task.steps if s.description == wanted)
    results = [m for m in messages if isinstance(m, ToolMessage)]
    if not results:
        return _call(step.tool.split(".")[1], task.resolved_args(step.id), f"s{step.id}_{uuid.uuid4().hex[:6]}")
    last = results[-1]
    if last.status == "error" or _text(last).startswith("Error"):
        return AIMessage(content=f"{step.description}: failed ({_text(last)[:120]})")
    return AIMessage(content=f"{step.description}: done, result {tool_value(step.tool, task.resolved_args(step.id))}")


def pe_replan(task: Task, messages: list[BaseMessage]) -> AIMessage:
    """After each step: the steps still to do (those whose inputs succeeded), or the final response."""
    prompt = "\n".join(_text(m) for m in messages)
    past = prompt.split(PE_PAST_MARKER, 1)[1] if PE_PAST_MARKER in prompt else ""
    status: dict[int, str] = {}
    for line in past.splitlines():
        for step in task.steps:
            if line.startswith(f"- {step.description}: "):
                status[step.id] = "failed" if ": failed" in line else "ok"
    remaining = [s for s in task.steps if s.id not in status and all(status.get(p, "ok") == "ok" for p in s.prerequisites())]
    if remaining:
        return _call("Act", {"action": {"steps": [s.description for s in remaining]}})
    return _call("Act", {"action": {"response": answer_text(task, status)}})


# LLMCompiler --------------------------------------------------------------------------------------
def compiler_plan(task: Task) -> AIMessage:
    tasks = [{"idx": s.id, "tool": s.tool.split(".")[1], "args": _compiler_args(s.args),
              "dependencies": sorted(s.prerequisites())} for s in task.steps]
    return _call("CompilerPlan", {"tasks": tasks})


def joiner(task: Task, messages: list[BaseMessage]) -> AIMessage:
    status: dict[int, str] = {}
    for message in messages:
        if isinstance(message, ToolMessage) and message.tool_call_id.startswith("task"):
            text = _text(message)
            failed = "not_run" if text.startswith("ERROR: dependencies") else "failed"
            status[int(message.tool_call_id[4:])] = failed if text.startswith("ERROR") else "ok"
    return _call("JoinOutputs", {"thought": "all tasks have run", "action": {"response": answer_text(task, status)}})


# dispatch -----------------------------------------------------------------------------------------
def reply(task: Task, messages: list[BaseMessage], tools: list[dict[str, Any]], tool_choice: Any) -> tuple[str, AIMessage]:
    """(kind of call, reply) for `messages` with `tools` bound."""
    names = [t["function"]["name"] for t in tools]
    schemas = {
        "RouteDecision": ("route", lambda: route(task)),
        "PlanDraft": ("plan", lambda: plangate_plan(task)),
        "ReplanDecision": ("replan", lambda: plangate_replan(task, messages)),
        "Plan": ("plan", lambda: pe_plan(task)),
        "Act": ("replan", lambda: pe_replan(task, messages)),
        "CompilerPlan": ("plan", lambda: compiler_plan(task)),
        "JoinOutputs": ("answer", lambda: joiner(task, messages)),
    }
    for name in names:
        if name in schemas:
            kind, make = schemas[name]
            return kind, make()
    if any("__" in n for n in names):  # plangate's fast path binds provider-named domain tools
        return "fast", fast_call(task)
    if names:
        first = next((_text(m) for m in messages if isinstance(m, HumanMessage)), "")
        if PE_STEP_MARKER in first:
            return "agent", pe_step(task, messages)
        return "agent", react(task, messages)
    return "answer", plangate_summary(task, messages)
