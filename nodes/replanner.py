"""Replanner: after failures, one model call either finishes with the answer or replaces steps.

The decision is a discriminated union (`action`): `finish` carries the answer to the user, naming what failed
and why, so no summarizer call follows; `replan` carries replacement steps, and the summarizer (or the answer
template) runs once they have settled. A `finish` with no usable answer falls back to the summarizer.
Completed results are kept and stay referable; old steps that had not run are superseded. Each replan bumps
`plan.version` and appends a diff to `plan_history`. Bounded by `Context.max_replans`; invalid decisions are
repaired at most `Context.max_repairs` times.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field, model_validator

from plangate.graph.context import Context
from plangate.graph.engine.plan import SETTLED, ExecutionPlan, PlanStep, validate_plan
from plangate.graph.engine.scheduler import schedule, unhandled_failures
from plangate.graph.engine.step_runner import model_error_can_pass
from plangate.graph.events import emit
from plangate.graph.intake import plan_update
from plangate.graph.io import IO
from plangate.graph.models.structured import StructuredFailure, Usage, ask_structured
from plangate.graph.services import Services
from plangate.graph.state import AgentState, StepResult, by_step_id, skipped_result
from plangate.nodes import prompts
from plangate.nodes.summarizer import final_answer, result_rows, usable_answer


class FinishWithAnswer(BaseModel):
    """Stop: answer the user with what worked, naming every step that failed and why."""

    action: Literal["finish"]
    answer: str = Field(default="", description="the answer to the user's request: what was done, what failed and why")
    reasoning: str = ""


class ReplaceSteps(BaseModel):
    """Add replacement steps for what failed; they may reference completed steps."""

    action: Literal["replan"]
    reasoning: str = ""
    steps: list[PlanStep] = Field(default_factory=list, description="new steps, ids continuing after the old ones")


class ReplanDecision(BaseModel):
    """What to do after failed steps: finish with the answer, or replace steps."""

    decision: Annotated[FinishWithAnswer | ReplaceSteps, Field(discriminator="action")]

    @model_validator(mode="before")
    @classmethod
    def _flat(cls, data: Any) -> Any:
        """The flat form (`{"action": ..., "answer"/"steps": ...}`) that small models and scripts send."""
        if isinstance(data, dict) and "decision" not in data and "action" in data:
            return {"decision": data}
        return data


def plan_diff(old: ExecutionPlan, new_steps: list[PlanStep], superseded: list[int]) -> dict[str, Any]:
    """Added, removed (superseded) and changed (a removed/failed step's tool re-planned) steps."""
    replaced_tools = {old.step(i).tool: i for i in superseded}
    replaced_tools.update({s.tool: s.id for s in old.steps if s.id not in superseded})
    changed = [{"old": replaced_tools[s.tool], "new": s.id} for s in new_steps if s.tool in replaced_tools]
    return {"added": [s.id for s in new_steps], "removed": superseded, "changed": changed}


def _trimmed(results: dict[int, StepResult]) -> dict[int, dict[str, Any]]:
    """Results as the replanner sees them: outputs kept as data when short (so the answer can quote them)."""
    def output(value: Any) -> Any:
        return value if len(str(value)) <= 1500 else str(value)[:1500]

    return {
        k: {"status": v["status"], "error": v.get("error"), "retryable": v.get("retryable", False), "output": output(v.get("output"))}
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

    def check(wrapped: ReplanDecision) -> FinishWithAnswer | ReplaceSteps:
        decision = wrapped.decision
        if isinstance(decision, ReplaceSteps) and decision.steps:
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
        decision = FinishWithAnswer(action="finish", reasoning=f"replanner gave no valid revision ({exc}); finishing")
    except Exception as exc:
        if model_error_can_pass(exc):
            raise  # transient: the node's RetryPolicy retries, then the thread waits to be resumed
        decision = FinishWithAnswer(action="finish", reasoning=f"the replanner model refused ({str(exc)[:200]}); finishing")
    base = {"handled_failures": handled, "replans": replans, "metrics": {**usage.metrics(), "replans": 1}}
    if isinstance(decision, FinishWithAnswer) or not decision.steps:
        entry = {"version": plan.version, "action": "finish", "reasoning": decision.reasoning, "failed": failed}
        emit("replanned", plan_id=plan.plan_id, version=plan.version, action="finish", reasoning=decision.reasoning)
        text = decision.answer.strip() if isinstance(decision, FinishWithAnswer) else ""
        if not usable_answer(text):
            return {**base, "plan_history": [entry]}  # no usable answer: the summarizer writes it
        finished = _finished(state, plan, results, text, services, handled)
        return {**base, **finished, "plan_history": [entry], "metrics": {**base["metrics"], **finished["metrics"]}}
    superseded = [s.id for s in plan.steps if results.get(s.id, {}).get("status") not in SETTLED]
    revised = plan.model_copy(update={"version": plan.version + 1, "steps": [*plan.steps, *decision.steps]})
    diff = plan_diff(plan, decision.steps, superseded)
    skipped = {i: skipped_result(f"superseded by plan version {revised.version}", plan.step(i).tool) for i in superseded}
    entry = {"version": revised.version, "action": "replan", "reasoning": decision.reasoning, "failed": failed, "diff": diff}
    emit("replanned", plan_id=plan.plan_id, version=revised.version, action="replan", diff=diff, reasoning=decision.reasoning)
    return {**base, **plan_update(revised.model_dump()), "plan_history": [entry], "step_results": skipped}


def _finished(state: AgentState, plan: ExecutionPlan, results: dict[int, StepResult], text: str, services: Services,
              handled: list[int]) -> dict[str, Any]:
    """The turn's end with the replanner's answer: steps that can no longer run are skipped with their reason."""
    decided = schedule(plan, results, approvals={}, needs_approval=set(), handled=handled, replans_left=False,
                       max_parallel=len(plan.steps), halted=state.get("halted"))
    skipped = {i: skipped_result(reason, plan.step(i).tool) for i, reason in decided.skip.items()}
    rows = result_rows(plan, {**results, **skipped})
    return {**final_answer(text, state, plan, rows, services), "step_results": skipped, "next_action": "done"}


def route_after_replanner(state: AgentState) -> Literal["dispatch", "__end__"]:
    """END when the replanner wrote the answer; otherwise run the new steps (or summarize)."""
    return "__end__" if state.get("next_action") == "done" else "dispatch"
