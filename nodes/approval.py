"""Human approval in LangChain's human-in-the-loop (HITL) format, each approval in a node of its own
(resuming re-runs the whole node, so nothing else lives here).

Interrupt value: a `HITLRequest`, the shape agent-chat-ui and Agent Inbox render with buttons:
`{"action_requests": [{"name", "args", "description"}], "review_configs": [{"action_name", "allowed_decisions"}]}`
- a plan is one action request named `run_plan` whose args are the plan; an edit's args are the new plan,
  validated and asked again (with the problem in the description) when invalid;
- side-effecting steps are one action request per step: the name is the tool, the args are the step's args.
`allowed_decisions` follows `Context.approvals_can_edit` / `approvals_can_reject`.

Resume value: a `HITLResponse`, `{"decisions": [{"type": "approve"} | {"type": "edit", "edited_action":
{"name", "args"}} | {"type": "reject", "message": "..."}]}`, one decision per action request, in order. Fewer
decisions decide the first requests and the rest are asked again (agent-chat-ui answers one at a time). Edited
values that arrive as text for non-text args (chat UIs edit every field as a string) are read as JSON.
Also accepted: `"approve"` / `True`, `"reject"` / `False`, `{"decision": "reject", "reason": ...}`,
`{"decision": "edit", "plan" | "args": ...}`, `{step_id: <decision>}`, one bare decision for every request, and
a clear yes / no typed into the chat while the thread waits (the router hands it over as `chat_decision`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langchain.agents.middleware.human_in_the_loop import (
    ActionRequest,
    DecisionType,
    HITLRequest,
    ReviewConfig,
)
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from plangate.graph.context import Context
from plangate.graph.engine.plan import ExecutionPlan, PlanValidationError, validate_plan
from plangate.graph.intake import approval_policy, plan_update
from plangate.graph.io import IO
from plangate.graph.pending import typed_decision
from plangate.graph.services import Services, answer
from plangate.graph.state import AgentState, by_step_id
from plangate.graph.transcript import plan_calls

PLAN_ACTION = "run_plan"
YES = {"approve", "approved", "yes", "y", "ok", "okay"}
NO = {"reject", "rejected", "no", "n"}


def allowed_decisions(ctx: Context) -> list[DecisionType]:
    allowed: list[DecisionType] = ["approve"]
    if ctx.approvals_can_edit:
        allowed.append("edit")
    if ctx.approvals_can_reject:
        allowed.append("reject")
    return allowed


def hitl_request(actions: Sequence[ActionRequest], ctx: Context) -> HITLRequest:
    """The interrupt value: the actions, and one review config per action name."""
    names = list(dict.fromkeys(a["name"] for a in actions))
    configs = [ReviewConfig(action_name=n, allowed_decisions=allowed_decisions(ctx)) for n in names]
    return HITLRequest(action_requests=list(actions), review_configs=configs)


def _with_problem(description: str, problem: str | None) -> str:
    return f"{description}\n\nYour last answer was not used: {problem}" if problem else description


def plan_action(plan: Mapping[str, Any], problem: str | None = None) -> ActionRequest:
    lines = [f"{s['id']}. {s['tool']} {json.dumps(s.get('args') or {}, ensure_ascii=False, default=str)}"
             for s in plan.get("steps") or []]
    text = f"Run this plan for: {plan.get('goal') or 'your request'}?\n" + "\n".join(lines)
    text += "\nApprove to run it, edit its args to change the plan, or reject it."
    return ActionRequest(name=PLAN_ACTION, args=dict(plan), description=_with_problem(text, problem))


def _one(value: Any) -> dict[str, Any]:
    """One decision in plangate's internal form: {"decision": approve | reject | edit | invalid, ...}."""
    if value is True or (isinstance(value, str) and value.strip().lower() in YES):
        return {"decision": "approve"}
    if value is False or (isinstance(value, str) and value.strip().lower() in NO):
        return {"decision": "reject", "reason": "rejected"}
    if isinstance(value, Mapping) and value.get("type") in ("approve", "reject", "edit"):  # LangChain's HITL decision
        if value["type"] == "approve":
            return {"decision": "approve"}
        if value["type"] == "reject":
            return {"decision": "reject", "reason": str(value.get("message") or "rejected")}
        edited = value.get("edited_action")
        if not isinstance(edited, Mapping) or not isinstance(edited.get("args"), Mapping):
            return {"decision": "invalid", "reason": "an edit needs edited_action: {name, args} with args an object"}
        return {"decision": "edit", "args": dict(edited["args"]), "name": edited.get("name")}
    if isinstance(value, Mapping) and value.get("decision") in ("approve", "reject", "edit"):  # plangate's own form
        decision = dict(value)
        if decision["decision"] == "edit":
            decision["args"] = decision.get("args", decision.get("plan"))
        return decision
    return {"decision": "invalid", "reason": f"unrecognised approval answer {str(value)[:200]!r}; send "
            '{"decisions": [{"type": "approve"}]} (or "edit" with edited_action, or "reject" with a message)'}


def read_decisions(raw: Any, keys: Sequence[int]) -> dict[int, dict[str, Any]] | str:
    """Decisions for the first of `keys` (the action requests shown, in order), or the problem with `raw`."""
    if isinstance(raw, Mapping) and "decisions" in raw:
        listed = raw["decisions"]
        if not isinstance(listed, list) or not listed:
            return "decisions must be a non-empty list, one decision per action request"
        if len(listed) > len(keys):
            return f"got {len(listed)} decisions for {len(keys)} action request(s)"
        return {key: _one(value) for key, value in zip(keys, listed, strict=False)}
    if isinstance(raw, Mapping) and raw and all(str(k).isdigit() for k in raw):
        by_id = by_step_id(raw)
        return {key: _one(by_id[key]) for key in keys if key in by_id} or "none of those step ids is waiting"
    return {key: _one(raw) for key in keys}


def coerce_edit(edited: Mapping[str, Any], original: Mapping[str, Any]) -> dict[str, Any]:
    """Edited args, with text read as JSON where the original value was not text (chat UIs edit strings)."""
    out = dict(edited)
    for key, value in edited.items():
        if isinstance(value, str) and key in original and not isinstance(original[key], str):
            try:
                out[key] = json.loads(value)
            except ValueError:
                pass  # left as text: validation names the field
    return out


def _refused(decision: dict[str, Any], ctx: Context) -> str | None:
    if decision["decision"] == "invalid":
        return decision["reason"]
    kind = {"approve": "approve", "reject": "reject", "edit": "edit"}[decision["decision"]]
    if kind not in allowed_decisions(ctx):
        return f"{kind} is not allowed here (allowed: {', '.join(allowed_decisions(ctx))})"
    return None


async def approve_plan(state: AgentState, runtime: Runtime[Context], io: IO, *, services: Services) -> dict[str, Any]:
    """Pause for a person to approve, reject or edit the plan (only when Context.approve_plans)."""
    ctx = services.context(runtime)
    plan = dict(state.get("plan") or {})
    if state.get("plan_source") == "fast_path" or state.get("plan_approved"):
        return {"chat_decision": None}
    done = {"plan_baseline": len(plan.get("steps") or []), "plan_approved": True, "chat_decision": None,
            "messages": [plan_calls(plan, plan.get("steps") or [])]}  # the plan shows in chat UIs before it runs
    if not approval_policy(state, ctx)["plans"]:
        return done
    typed, problem = typed_decision(state, "plan"), None
    while True:
        raw = typed if typed is not None else interrupt(hitl_request([plan_action(plan, problem)], ctx))
        typed = None
        read = read_decisions(raw, [0])
        decision = read if isinstance(read, str) else read[0]
        problem = decision if isinstance(decision, str) else _refused(decision, ctx)
        if problem or isinstance(decision, str):
            continue
        if decision["decision"] == "approve":
            return done
        if decision["decision"] == "reject":
            text = f"Plan rejected: {decision.get('reason') or 'no reason given'}. Nothing was run."
            return {**answer(text), "error": "plan rejected", "chat_decision": None}
        if decision.get("name") not in (None, PLAN_ACTION):
            problem = f"the plan's action is {PLAN_ACTION!r}, not {decision.get('name')!r}"
            continue
        edited = decision.get("args")
        try:
            if not isinstance(edited, Mapping):
                raise PlanValidationError(["an edited plan must be an object"])
            merged = {**plan, **coerce_edit(edited, plan)}
            checked = validate_plan(merged, services.registry, max_steps=ctx.max_plan_steps, drop_stale_answer=True).model_dump()
        except PlanValidationError as exc:
            problem = str(exc)
            continue
        return {**plan_update(checked), "plan_source": "edited", **done, "plan_baseline": len(checked["steps"]),
                "messages": [plan_calls(checked, checked["steps"])]}


def route_after_approve_plan(state: AgentState) -> Literal["dispatch", "__end__"]:
    return "__end__" if state.get("error") else "dispatch"


async def approve_steps(state: AgentState, runtime: Runtime[Context], io: IO, *, services: Services) -> dict[str, Any]:
    """Pause before side-effecting steps: one action request per step; record approve / reject / edited args."""
    ctx = services.context(runtime)
    plan = ExecutionPlan.of(state)
    waiting = [plan.step(i) for i in state.get("wave") or []]
    decisions: dict[int, dict[str, Any]] = {}
    typed, problem = typed_decision(state, "steps"), None
    while len(decisions) < len(waiting):
        left = [s for s in waiting if s.id not in decisions]
        actions = [ActionRequest(name=s.tool, args=dict(s.args),
                                 description=_with_problem(f"step {s.id}: {s.description or s.tool} (side effects)", problem))
                   for s in left]
        raw = typed if typed is not None else interrupt(hitl_request(actions, ctx))
        typed, problem = None, None
        read = read_decisions(raw, [s.id for s in left])
        if isinstance(read, str):
            problem = read
            continue
        for step in left:
            if step.id not in read:
                continue
            decision = read[step.id]
            problem = _refused(decision, ctx)
            if problem is None and decision["decision"] == "edit":
                problem = _edit_problem(decision, step.tool, step.args, services)
            if problem:
                problem = f"step {step.id}: {problem}"
                break  # this one and the ones after it are asked again
            decisions[step.id] = decision
    return {"approvals": decisions, "chat_decision": None}


def _edit_problem(decision: dict[str, Any], tool: str, original: Mapping[str, Any], services: Services) -> str | None:
    """Checks an edited step (in place: its args are coerced); the problem, or None."""
    if decision.get("name") not in (None, tool):
        return f"an edit cannot switch tools ({tool} to {decision.get('name')})"
    args = decision.get("args")
    if not isinstance(args, Mapping):
        return "args must be an object"
    decision["args"] = coerce_edit(args, original)
    issues = services.registry.check_args(tool, decision["args"])
    return "; ".join(issues) if issues else None
