"""Executor: `dispatch` schedules ready steps; each runs as its own `run_step` task via `Send`.

One task per step means Studio shows every step, and a crash never re-runs a step that finished:
LangGraph keeps the writes of tasks that succeeded in a superstep and re-runs only the others.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Send

from plangate.graph.context import Context
from plangate.graph.engine.conditions import holds
from plangate.graph.engine.plan import SETTLED, ExecutionPlan, PlanStep
from plangate.graph.engine.references import StepReferenceError, resolve
from plangate.graph.engine.risk import needs_approval as steps_needing_approval
from plangate.graph.engine.scheduler import effective, schedule
from plangate.graph.engine.step_runner import run_tool_step
from plangate.graph.events import emit
from plangate.graph.io import IO
from plangate.graph.services import Services
from plangate.graph.state import AgentState, StepResult, StepTask, by_step_id, skipped_result


async def dispatch(state: AgentState, runtime: Runtime[Context], io: IO, *, services: Services) -> dict[str, Any]:
    """Settle skips, pick the next wave (or approval / replan / summary) and report progress."""
    ctx = services.context(runtime)
    plan = ExecutionPlan.of(state)
    results = by_step_id(state.get("step_results"))
    last_wave = [results[i]["duration_ms"] for i in state.get("wave") or [] if i in results and results[i]["status"] in SETTLED]
    elapsed = int(state.get("plan_elapsed_ms") or 0) + max(last_wave, default=0)
    budget_ms = int(ctx.plan_timeout_s * 1000)
    timed_out = f"the plan timeout ({ctx.plan_timeout_s:g}s) passed" if elapsed >= budget_ms else None
    needs_approval = steps_needing_approval(plan, state, ctx, services.registry)
    decided = schedule(
        plan,
        results,
        approvals=by_step_id(state.get("approvals")),
        needs_approval=needs_approval,
        handled=state.get("handled_failures") or [],
        replans_left=int(state.get("replans") or 0) < ctx.max_replans,
        max_parallel=ctx.max_parallel_steps,
        timed_out=timed_out,
        halted=state.get("halted"),
    )
    updates: dict[int, StepResult] = {}
    for step_id, reason in decided.skip.items():
        updates[step_id] = skipped_result(reason, plan.step(step_id).tool)
        emit("step_skipped", plan_id=plan.plan_id, step=step_id, tool=plan.step(step_id).tool, reason=reason)
    # No "running" entry is stored for the wave: a cancelled run would leave it behind in the checkpoint, and a
    # thread read later would show a step running forever. Live status comes from the step_started events.
    settled = sum(1 for s in plan.steps if {**results, **updates}.get(s.id, {}).get("status") in SETTLED)
    emit("progress", plan_id=plan.plan_id, done=settled, total=len(plan.steps), action=decided.action)
    return {"step_results": updates, "wave": decided.wave, "next_action": decided.action, "halted": decided.halted,
            "plan_elapsed_ms": elapsed, "step_budget_s": max(budget_ms - elapsed, 1) / 1000}


def route_after_dispatch(state: AgentState) -> list[Send] | Literal["approve_steps", "replanner", "summarizer"]:
    """Send one run_step task per step of the wave, or move on."""
    action = state.get("next_action")
    if action != "run":
        return {"approve": "approve_steps", "replan": "replanner"}.get(action, "summarizer")  # type: ignore[return-value]
    plan = ExecutionPlan.of(state)
    results = by_step_id(state.get("step_results"))
    approvals = by_step_id(state.get("approvals"))
    budget_s = float(state.get("step_budget_s") or 1.0)
    sends = []
    for step_id in state.get("wave") or []:
        step = plan.step(step_id)
        data = step.model_dump()
        if approvals.get(step_id, {}).get("decision") == "edit":
            data["args"] = approvals[step_id]["args"]
        refs = {i: effective(plan, results, i) for i in step.prerequisites() if i != step_id}
        sends.append(Send("run_step", StepTask(step=data, results=refs, plan_id=plan.plan_id, deadline=budget_s)))
    return sends


def _text_fields(services: Services, name: str) -> frozenset[str]:
    """Arguments the tool declares as plain strings (a referenced dict is rendered as text there)."""
    properties = services.registry.provider_schema(name)["function"].get("parameters", {}).get("properties", {})
    return frozenset(k for k, v in properties.items() if v.get("type") == "string")


async def run_step(task: StepTask, runtime: Runtime[Context], io: IO, *, services: Services) -> dict[str, Any]:
    """Run one step (or the iterations of a loop step) and record its StepResult."""
    ctx = services.context(runtime)
    step = PlanStep.model_validate(task["step"])
    available = by_step_id(task["results"])
    retries = step.retries if step.retries is not None else ctx.step_retries
    timeout_s = min(step.timeout_s or ctx.step_timeout_s, task["deadline"])
    tool = services.registry.get(step.tool)
    try:
        args = resolve(step.args, available, _text_fields(services, step.tool))
    except StepReferenceError as exc:
        failed: StepResult = {"status": "failed", "output": None, "error": str(exc), "attempts": 0, "duration_ms": 0, "tool": step.tool}
        emit("step_failed", plan_id=task["plan_id"], step=step.id, tool=step.tool, attempt=0, error=str(exc))
        return {"step_results": {step.id: failed}}
    iterations = step.loop_count if step.type == "loop" else 1
    outputs: list[Any] = []
    attempts = duration = 0
    last: StepResult | None = None
    for _ in range(iterations):
        last = await run_tool_step(
            io, tool, args, name=step.tool, step_id=step.id, plan_id=task["plan_id"], retries=retries, timeout_s=timeout_s
        )
        attempts += last["attempts"]
        duration += last["duration_ms"]
        if last["status"] != "completed":
            break
        outputs.append(last["output"])
        until = step.condition if step.type == "loop" and step.condition and step.condition.step == step.id else None
        if until and holds(until, last):
            break
    assert last is not None  # loop_count >= 1 (validated)
    result: StepResult = {**last, "attempts": attempts, "duration_ms": duration}
    if step.type == "loop":
        if last["status"] == "completed":
            result["output"] = outputs
        result["iterations"] = len(outputs)
    llm_calls = sum(int(o.get("llm_calls", 0)) for o in outputs if isinstance(o, dict))
    metrics = {"tool_calls": attempts, "step_durations": {str(step.id): duration}}
    if llm_calls:
        metrics["llm_calls"] = llm_calls
    return {"step_results": {step.id: result}, "metrics": metrics}
