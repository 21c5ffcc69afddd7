"""Planner: the strong tier writes a typed plan; invalid plans are sent back with their errors.

At most `Context.max_repairs` repairs; then (or when the model is unreachable) the offline rules
draft the plan for this request, recorded in `route_reason` and `metrics["fallbacks"]`. Only if the
rules find nothing to do either does the run end with an answer that lists the problems.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from plangate.graph.context import Context
from plangate.graph.engine import plan_library
from plangate.graph.engine.plan import ExecutionPlan, PlanDraft, PlanValidationError, validate_plan
from plangate.graph.events import emit
from plangate.graph.intake import plan_update
from plangate.graph.io import IO
from plangate.graph.models.structured import StructuredFailure, Usage, ask_structured
from plangate.graph.offline import coverage, rules
from plangate.graph.services import Services, answer
from plangate.graph.state import AgentState
from plangate.nodes import prompts


async def planner(state: AgentState, runtime: Runtime[Context], io: IO, *, services: Services) -> dict[str, Any]:
    """Write the plan: from the plan library when a stored plan fits, else with the strong model."""
    ctx = services.context(runtime)
    registry = services.registry
    request = state.get("request") or ""
    usage = Usage()

    store = runtime.store
    if ctx.plan_library and store is not None:
        reused = await _from_library(io, store, request, ctx, services)
        if reused is not None:
            emit("plan_created", plan_id=reused.plan_id, steps=len(reused.steps), version=1, source="library")
            history = {"version": 1, "action": "reused", "reasoning": reused.reasoning, "steps": len(reused.steps)}
            return {**plan_update(reused.model_dump()), "plan_source": "library", "plan_history": [history],
                    "route_reason": f"{state.get('route_reason', '')} | plan reused from the library (no planner call)",
                    "metrics": {"plan_library": "hit"}}

    def check(draft: PlanDraft) -> ExecutionPlan:
        return validate_plan(draft.model_dump(), registry, max_steps=ctx.max_plan_steps)

    system = prompts.PLANNER.format(
        now=datetime.now().astimezone().isoformat(timespec="minutes"),
        catalog=registry.catalog(),
        max_steps=ctx.max_plan_steps,
    )
    messages = [SystemMessage(prompts.with_earlier_turns(system, state.get("messages") or [])), HumanMessage(request)]
    try:
        plan = await ask_structured(
            io, services.model(ctx, "strong"), messages, PlanDraft, usage,
            max_repairs=ctx.max_repairs, check=check, method=ctx.structured_method, choices={"tool": registry.names()},
        )
    except GraphBubbleUp:
        raise
    except Exception as exc:  # unrepairable plan, or the model is down: the rules plan this request
        return _rules_fallback(state, exc, services, ctx, usage)
    emit("plan_created", plan_id=plan.plan_id, steps=len(plan.steps), version=plan.version, source="planner")
    history = {"version": 1, "action": "created", "reasoning": plan.reasoning, "steps": len(plan.steps)}
    return {**plan_update(plan.model_dump()), "plan_source": "planner", "plan_history": [history], "metrics": usage.metrics()}


def _rules_fallback(state: AgentState, exc: Exception, services: Services, ctx: Context, usage: Usage) -> dict[str, Any]:
    """The rules' plan for the request after the model failed; an answer listing the problems if none."""
    request = state.get("request") or ""
    why = (f"no valid plan after {exc.attempts} attempt(s): {'; '.join(p[:120] for p in exc.problems[:3])}"
           if isinstance(exc, StructuredFailure) else f"model failed: {type(exc).__name__}: {str(exc)[:160]}")
    metrics = {**usage.metrics(), "fallbacks": ["planner_rules_fallback"]}
    try:
        draft = rules.draft_plan(request, services.registry, datetime.now().astimezone())
        if not services.offline(ctx, "default"):
            draft.pop("answer", None)  # a model is there to write the answer from what the rules' plan did
        plan = validate_plan(draft, services.registry, max_steps=ctx.max_plan_steps) if draft["steps"] else None
    except PlanValidationError as invalid:
        why += f"; rules plan invalid too: {'; '.join(invalid.problems[:3])}"
        plan = None
    if plan is None:
        problems = exc.problems[:10] if isinstance(exc, StructuredFailure) else [str(exc)[:300]]
        text = "I couldn't make a valid plan for that. Problems:\n" + "\n".join(f"- {p}" for p in problems)
        text += coverage.plan_note(request, [], services.registry)  # name each part of the request not done
        return {**answer(text), "error": str(exc), "metrics": metrics,
                "route_reason": f"{state.get('route_reason', '')} | planner: {why}; rules fallback: the rules found no plan either"}
    emit("plan_created", plan_id=plan.plan_id, steps=len(plan.steps), version=plan.version, source="rules")
    history = {"version": 1, "action": "created", "reasoning": f"rules fallback: {why}", "steps": len(plan.steps)}
    return {**plan_update(plan.model_dump()), "plan_source": "rules", "plan_history": [history], "metrics": metrics,
            "route_reason": f"{state.get('route_reason', '')} | planner: {why}; rules fallback: the rules planned it"}


async def _from_library(io: IO, store: BaseStore, request: str, ctx: Context, services: Services) -> ExecutionPlan | None:
    """A stored plan for this request's normalized key, re-filled and re-validated; None if there is none."""
    namespace = plan_library.namespace(ctx.user_id)
    item = await io.store_get(store, namespace, plan_library.store_key(request))
    if item is None:
        return None
    filled = plan_library.instantiate(item.value, request)
    if filled is None:
        return None
    try:
        return validate_plan(filled, services.registry, max_steps=ctx.max_plan_steps)
    except PlanValidationError:
        return None  # the tools changed since it was stored: plan afresh


def route_after_planner(state: AgentState) -> Literal["approve_plan", "__end__"]:
    return "__end__" if state.get("error") else "approve_plan"
