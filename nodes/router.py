"""Router and confidence gate: fast path for one simple action, plan-and-execute for the rest.

Gate: fast iff route=fast and confidence >= fast_threshold; plan when route=plan or confidence <
plan_threshold; in between, escalate once to the next tier, then plan if still unsure. In cascade
mode the rules decide first and a model is asked only when the rules are not sure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from langgraph.types import Overwrite
from pydantic import BaseModel, Field, field_validator

from plangate.graph import pending
from plangate.graph.context import Context
from plangate.graph.engine.plan import PlanValidationError, validate_plan
from plangate.graph.events import emit
from plangate.graph.intake import (
    InputError,
    checked_request,
    explicit_plan,
    plan_fingerprint,
    plan_update,
    turn_reset,
)
from plangate.graph.io import IO
from plangate.graph.models.structured import StructuredFailure, Usage, ask_structured
from plangate.graph.offline import rules
from plangate.graph.services import Services, answer
from plangate.graph.state import AgentState, Route
from plangate.graph.transcript import transcript
from plangate.nodes import prompts

Rung = Literal["rules", "weak", "strong"]
LADDERS: dict[str, list[Rung]] = {"cascade": ["rules", "weak", "strong"], "llm": ["weak", "strong"], "rules": ["rules"]}


class RouteDecision(BaseModel):
    """The router's structured decision."""

    route: Literal["fast", "plan"] = Field(description="fast: one simple action; plan: several steps")
    domain: str = Field(description="the domain of the request, or 'conversation'")
    confidence: float = Field(ge=0.0, le=1.0, description="how sure you are, 0..1")
    reasoning: str = Field(default="", description="one short sentence")

    @field_validator("confidence")
    @classmethod
    def _finite(cls, value: float) -> float:
        if math.isnan(value):
            raise ValueError("confidence must be a number in [0, 1], got NaN")
        return value


async def _decide(io: IO, tier: Rung, request: str, services: Services, ctx: Context, usage: Usage,
                  earlier: Sequence[BaseMessage]) -> RouteDecision:
    """A RouteDecision from the rules or from a model tier."""
    registry = services.registry
    if tier == "rules" or services.offline(ctx, tier):  # the offline model *is* the rules: skip the round trip
        found = rules.decide_route(request, registry)
        return RouteDecision(route=found.route, domain=found.domain, confidence=found.confidence, reasoning=found.reasoning)
    domains = registry.domains()

    def known_domain(decision: RouteDecision) -> RouteDecision:
        if decision.domain not in domains:
            raise ValueError(f"domain {decision.domain!r} is unknown; choose one of {', '.join(domains)}")
        return decision

    system = prompts.with_earlier_turns(prompts.ROUTER.format(domains=", ".join(domains)), earlier)
    messages = [SystemMessage(system), HumanMessage(request)]
    decision = await ask_structured(
        io, services.model(ctx, tier), messages, RouteDecision, usage, max_repairs=ctx.max_repairs, check=known_domain,
        method=ctx.structured_method, choices={"domain": domains}, max_tokens=256,
    )
    decision.reasoning = f"{tier} model: {decision.reasoning}".strip()
    return decision


async def _safe_decide(io: IO, tier: Rung, request: str, services: Services, ctx: Context, usage: Usage,
                       earlier: Sequence[BaseMessage]) -> RouteDecision:
    """Like _decide, but a model that fails or talks nonsense falls back to the rules for this decision."""
    try:
        return await _decide(io, tier, request, services, ctx, usage, earlier)
    except (StructuredFailure, Exception) as exc:  # model down or unrepairable: the rules still answer
        found = rules.decide_route(request, services.registry)
        note = f"{tier} model failed ({str(exc)[:160]}); rules fallback: {found.reasoning}"
        usage.notes.append("router_rules_fallback")
        return RouteDecision(route=found.route, domain=found.domain, confidence=min(found.confidence, 0.94), reasoning=note)


def gate(decision: RouteDecision, ctx: Context) -> Literal["fast", "plan", "unsure"]:
    if decision.route == "fast" and decision.confidence >= ctx.fast_threshold:
        return "fast"
    if decision.route == "plan" or decision.confidence < ctx.plan_threshold:
        return "plan"
    return "unsure"


async def decide_route(io: IO, request: str, services: Services, ctx: Context, usage: Usage,
                       earlier: Sequence[BaseMessage] = ()) -> tuple[Route, RouteDecision, str]:
    """(route, decision, reason) through the ladder of the configured router_mode.

    `earlier`: the thread's messages, whose earlier turns models see as data (the rules read the request only).
    """
    ladder = list(LADDERS[ctx.router_mode])
    decision = await _safe_decide(io, ladder[0], request, services, ctx, usage, earlier)
    trail = [f"{ladder[0]}: {decision.route} {decision.confidence:.2f}"]
    if ladder[0] == "rules" and len(ladder) > 1 and decision.confidence < ctx.fast_threshold:
        ladder = ladder[1:]  # the rules are not sure: ask a model
        decision = await _safe_decide(io, ladder[0], request, services, ctx, usage, earlier)
        trail.append(f"{ladder[0]}: {decision.route} {decision.confidence:.2f}")
    verdict = gate(decision, ctx)
    if verdict == "unsure" and len(ladder) > 1:
        decision = await _safe_decide(io, ladder[1], request, services, ctx, usage, earlier)
        trail.append(f"escalated to {ladder[1]}: {decision.route} {decision.confidence:.2f}")
        verdict = gate(decision, ctx)
    route: Route = "fast" if verdict == "fast" else "plan"
    why = "confident" if verdict == "fast" else ("asked for a plan" if decision.route == "plan" else "not sure enough for the fast path")
    reason = f"{decision.reasoning} | gate: {route} ({why}; fast>={ctx.fast_threshold}, plan<{ctx.plan_threshold}) | {'; '.join(trail)}"
    return route, decision, reason


def _rung_timers(runtime: Runtime[Context], services: Services, user: str) -> list[str]:
    """Messages for timers that rang since the last turn (each reported, and notified, once)."""
    if "timer.set_timer" not in services.registry:
        return []
    from plangate.tools.timer import collect_expired_timers

    try:
        return [item["message"] for item in collect_expired_timers(runtime.store, user)]
    except Exception:  # a broken store must not stop the request; the timers stay for next time
        return []


async def router(state: AgentState, runtime: Runtime[Context], io: IO, *, services: Services) -> dict[str, Any]:
    """Check the input, then decide the route: the caller's plan, the fast path or the planner."""
    ctx = services.context(runtime)
    newest = (state.get("messages") or [None])[-1]
    if isinstance(newest, HumanMessage) and state.get("plan") is not None and _no_new_plan(state):
        typed = pending.chat_decision(state, ctx, newest.text)
        if typed is not None:
            return {"chat_decision": typed}  # a clear yes / no to the pending approval: that turn goes on
    closing = [pending.closing_note(state)] if pending.unfinished_plan(state) else []
    update = turn_reset(ctx)
    if closing:  # the closed plan's calls get their results ("not run"), so no UI shows them running forever
        update["messages"] = transcript(state)
    update["notices"] = closing + await io.blocking(_rung_timers, runtime, services, ctx.user_id)
    if update["notices"]:
        emit("timers_rang", messages=update["notices"])
    try:
        plan = explicit_plan(state)
        if plan is not None:
            checked = validate_plan(plan, services.registry, max_steps=ctx.max_plan_steps)
            emit("route_decided", route="plan", confidence=1.0, reason="explicit plan in input")
            emit("plan_created", plan_id=checked.plan_id, steps=len(checked.steps), version=checked.version, source="input")
            return {**update, "route": "plan", "confidence": 1.0, "domain": "plan", **plan_update(checked.model_dump()),
                    "plan_source": "input", "route_reason": "explicit plan in input: router and planner skipped",
                    "request": checked.goal}
        request = checked_request(state.get("messages") or [], ctx)
    except (InputError, PlanValidationError) as exc:
        emit("route_decided", route="error", confidence=0.0, reason=str(exc))
        text = f"I can't run that: {exc}"
        return {**update, **answer(text), "error": str(exc), "route": "plan", "confidence": 0.0,
                "route_reason": f"input rejected: {exc}", "plan": None, "plan_seen": plan_fingerprint(state.get("plan"))}
    usage = Usage()
    route, decision, reason = await decide_route(io, request, services, ctx, usage, state.get("messages") or [])
    emit("route_decided", route=route, proposed=decision.route, domain=decision.domain, confidence=decision.confidence,
         reason=reason)
    metrics = {**update["metrics"].value, **usage.metrics()}
    if usage.notes:
        metrics["fallbacks"] = usage.notes
    return {**update, "metrics": Overwrite(metrics), "request": request, "route": route,
            "domain": decision.domain, "confidence": float(decision.confidence), "route_reason": reason,
            "plan": None, "plan_source": None}


def _no_new_plan(state: AgentState) -> bool:
    try:
        return explicit_plan(state) is None
    except InputError:
        return False


def route_after_router(state: AgentState) -> Literal["fast_reply", "planner", "approve_plan", "approve_steps", "__end__"]:
    """Where the router sends the request (or a yes / no typed while an approval waited)."""
    typed = state.get("chat_decision")
    if isinstance(typed, dict):
        return "approve_plan" if typed.get("for") == "plan" else "approve_steps"
    if state.get("error"):
        return "__end__"
    if state.get("plan_source") == "input":
        return "approve_plan"
    return "fast_reply" if state.get("route") == "fast" else "planner"
