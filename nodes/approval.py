"""Human approval, each in a node of its own: resuming re-runs the whole node, so nothing else lives here.

Resume values (via `Command(resume=...)`, Studio or `plangate resume --approve/--reject`):
`"approve"` / `True`, `"reject"` / `False`, `{"decision": "reject", "reason": "..."}`,
`{"decision": "edit", "plan": {...}}` for plans, `{"decision": "edit", "args": {...}}` for one step,
or `{step_id: <decision>}` to decide steps one by one.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from plangate.graph.context import Context
from plangate.graph.engine.plan import ExecutionPlan, PlanValidationError, validate_plan
from plangate.graph.intake import approval_policy, plan_update
from plangate.graph.io import IO
from plangate.graph.services import Services, answer
from plangate.graph.state import AgentState, by_step_id


def _decision(value: Any) -> dict[str, Any]:
    if value is True or (isinstance(value, str) and value.lower() in ("approve", "approved", "yes", "y", "ok")):
        return {"decision": "approve"}
    if value is False or (isinstance(value, str) and value.lower() in ("reject", "rejected", "no", "n")):
        return {"decision": "reject", "reason": "rejected"}
    if isinstance(value, dict) and value.get("decision") in ("approve", "reject", "edit"):
        return dict(value)
    return {"decision": "invalid", "reason": f"unrecognised approval answer {value!r}; use approve, reject or edit"}


async def approve_plan(state: AgentState, runtime: Runtime[Context], io: IO, *, services: Services) -> dict[str, Any]:
    """Pause for a person to approve, reject or edit the plan (only when Context.approve_plans)."""
    ctx = services.context(runtime)
    if not approval_policy(state, ctx)["plans"] or state.get("plan_source") == "fast_path":
        return {}
    plan = state.get("plan") or {}
    problem = None
    while True:
        request = {"type": "approve_plan", "plan": plan, "question": "Run this plan? approve / reject / edit"}
        if problem:
            request["problem"] = problem
        decision = _decision(interrupt(request))
        if decision["decision"] == "approve":
            return {}
        if decision["decision"] == "reject":
            text = f"Plan rejected: {decision.get('reason') or 'no reason given'}. Nothing was run."
            return {**answer(text), "error": "plan rejected"}
        if decision["decision"] == "edit":
            try:
                plan = validate_plan(decision.get("plan"), services.registry, max_steps=ctx.max_plan_steps).model_dump()
                return {**plan_update(plan), "plan_source": "edited"}
            except PlanValidationError as exc:
                problem = str(exc)
        else:
            problem = decision["reason"]


def route_after_approve_plan(state: AgentState) -> Literal["dispatch", "__end__"]:
    return "__end__" if state.get("error") else "dispatch"


async def approve_steps(state: AgentState, runtime: Runtime[Context], io: IO, *, services: Services) -> dict[str, Any]:
    """Pause before side-effecting steps; record approve / reject / edited args per step."""
    plan = ExecutionPlan.of(state)
    waiting = [plan.step(i) for i in state.get("wave") or []]
    shown = [{"id": s.id, "tool": s.tool, "args": s.args, "description": s.description} for s in waiting]
    decisions: dict[int, dict[str, Any]] = {}
    problem = None
    while len(decisions) < len(waiting):
        request = {"type": "approve_steps", "steps": [s for s in shown if s["id"] not in decisions],
                   "question": "These steps have side effects. approve / reject / edit?"}
        if problem:
            request["problem"] = problem
        raw = interrupt(request)
        per_step = (
            by_step_id(raw)
            if isinstance(raw, dict) and raw and all(str(k).isdigit() for k in raw)
            else {s.id: raw for s in waiting if s.id not in decisions}
        )
        problem = None
        for step in waiting:
            if step.id in decisions or step.id not in per_step:
                continue
            decision = _decision(per_step[step.id])
            if decision["decision"] == "edit":
                args = decision.get("args")
                issues = services.registry.check_args(step.tool, args) if isinstance(args, dict) else ["args must be an object"]
                if issues:
                    problem = f"step {step.id}: " + "; ".join(issues)
                    continue
            if decision["decision"] == "invalid":
                problem = decision["reason"]
                continue
            decisions[step.id] = decision
    return {"approvals": decisions}
