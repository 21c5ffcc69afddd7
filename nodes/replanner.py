"""Replanner: after failures, finish with what worked or add replacement steps.

Completed results are kept and stay referable; old steps that had not run are superseded. Each
replan bumps `plan.version` and appends a diff to `plan_history`. Bounded by `Context.max_replans`.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from plangate.graph.context import Context
from plangate.graph.engine.plan import SETTLED, ExecutionPlan, PlanStep, validate_plan
from plangate.graph.engine.scheduler import unhandled_failures
from plangate.graph.engine.step_runner import model_error_can_pass
from plangate.graph.events import emit
from plangate.graph.intake import plan_update
from plangate.graph.io import IO
from plangate.graph.models.structured import StructuredFailure, Usage, ask_structured
from plangate.graph.services import Services
from plangate.graph.state import AgentState, StepResult, by_step_id, skipped_result
from plangate.nodes import prompts


class ReplanDecision(BaseModel):
    """What to do after failed steps."""

    action: Literal["finish", "replan"] = Field(description="finish: answer with what worked; replan: add steps")
    reasoning: str = ""
    steps: list[PlanStep] = Field(default_factory=list, description="new steps, ids continuing after the old ones")


def plan_diff(old: ExecutionPlan, new_steps: list[PlanStep], superseded: list[int]) -> dict[str, Any]:
    """Added, removed (superseded) and changed (a removed/failed step's tool re-planned) steps."""
    replaced_tools = {old.step(i).tool: i for i in superseded}
    replaced_tools.update({s.tool: s.id for s in old.steps if s.id not in superseded})
    changed = [{"old": replaced_tools[s.tool], "new": s.id} for s in new_steps if s.tool in replaced_tools]
    return {"added": [s.id for s in new_steps], "removed": superseded, "changed": changed}


def _trimmed(results: dict[int, StepResult]) -> dict[int, dict[str, Any]]:
    return {
        k: {"status": v["status"], "error": v.get("error"), "retryable": v.get("retryable", False), "output": str(v.get("output"))[:1500]}
        for k, v in results.items()
    }


async def replanner(state: AgentState, runtime: Runtime[Context], io: IO, *, services: Services) -> dict[str, Any]:
    """After failures: finish with what worked, or add replacement steps."""
    ctx = services.context(runtime)
    plan = ExecutionPlan.of(state)
    results = by_step_id(state.get("step_results"))
    failed = unhandled_failures(plan, results, state.get("handled_failures") or [])
    next_id = len(plan.steps) + 1
    usage = Usage()
    handled = [*(state.get("handled_failures") or []), *failed]
    replans = int(state.get("replans") or 0) + 1

    def check(decision: ReplanDecision) -> ReplanDecision:
        if decision.action == "replan" and decision.steps:
            merged = plan.model_dump()
            merged["steps"] += [s.model_dump() for s in decision.steps]
            validate_plan(merged, services.registry, max_steps=ctx.max_plan_steps * (ctx.max_replans + 1), first_new_id=next_id)
        return decision

    payload = {"plan": plan.model_dump(), "results": _trimmed(results), "failed": failed, "next_id": next_id}
    messages = [
        SystemMessage(prompts.REPLANNER.format(next_id=next_id, catalog=services.registry.catalog())),
        HumanMessage(f"Request: {state.get('request', '')}\n\n{prompts.data_block('plan_state', payload)}"),
    ]
    try:
        decision = await ask_structured(
            io, services.model(ctx, "strong"), messages, ReplanDecision, usage, max_repairs=ctx.max_repairs, check=check,
            method=ctx.structured_method, choices={"tool": services.registry.names()},
        )
    except StructuredFailure as exc:
        decision = ReplanDecision(action="finish", reasoning=f"replanner gave no valid revision ({exc}); finishing")
    except Exception as exc:
        if model_error_can_pass(exc):
            raise  # transient: the node's RetryPolicy retries, then the thread waits to be resumed
        decision = ReplanDecision(action="finish", reasoning=f"the replanner model refused ({str(exc)[:200]}); finishing")
    base = {"handled_failures": handled, "replans": replans, "metrics": {**usage.metrics(), "replans": 1}}
    if decision.action == "finish" or not decision.steps:
        entry = {"version": plan.version, "action": "finish", "reasoning": decision.reasoning, "failed": failed}
        emit("replanned", plan_id=plan.plan_id, version=plan.version, action="finish", reasoning=decision.reasoning)
        return {**base, "plan_history": [entry]}
    superseded = [s.id for s in plan.steps if results.get(s.id, {}).get("status") not in SETTLED]
    revised = plan.model_copy(update={"version": plan.version + 1, "steps": [*plan.steps, *decision.steps]})
    diff = plan_diff(plan, decision.steps, superseded)
    skipped = {i: skipped_result(f"superseded by plan version {revised.version}", plan.step(i).tool) for i in superseded}
    entry = {"version": revised.version, "action": "replan", "reasoning": decision.reasoning, "failed": failed, "diff": diff}
    emit("replanned", plan_id=plan.plan_id, version=revised.version, action="replan", diff=diff, reasoning=decision.reasoning)
    return {**base, **plan_update(revised.model_dump()), "plan_history": [entry], "step_results": skipped}
