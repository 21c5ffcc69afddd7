"""Executor: `dispatch` sends one `run_step` task (`Send`) per step of the wave; each starts as soon as its
prerequisites have settled, not when the superstep's slowest step ends.

The wave is every step that can run before the next decision (approval, replan, answer): the ready steps and
the pending steps whose prerequisites are in the wave. The tasks of a wave meet on an in-process board
(`plangate.graph.engine.board`), which gives each its turn, at most `max_parallel_steps` at once.

Why one `Send` per step rather than `@task`s awaited inside one executor node (both persist each finished
step), measured with `python -m bench.executor_choice` (bench/results/summary.md): on uneven tool latencies both
remove the barrier (b01's shape: BSP 1.51 s, Send per step 0.91 s, `@task` 0.90 s) and are within 1% of each
other; with zero latency they are within a few ms (a chain of 6 on SQLite: 10.5 ms `@task`, 12.5 ms Send, 25.8 ms
BSP; a busier run gave 11 against 56). Both remove the barrier, so what decided is what each guarantees. With `Send`, each step is a task of its own in Studio (inputs
and result), its result is written to the `step_results` channel when it finishes, and a resumed wave re-runs
exactly the unfinished steps. A `@task`'s saved result is found again by its call index in the node
(langgraph/pregel/_runner.py: `scratchpad.call_counter()`), and steps launched as they become ready are called in
an order that depends on timing, so a resumed node could pair a step with another step's saved result or re-run it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

from langgraph.config import get_config
from langgraph.runtime import Runtime, get_runtime
from langgraph.types import Send

from plangate.graph.context import Context, coerce_context
from plangate.graph.engine import board as boards
from plangate.graph.engine.conditions import holds
from plangate.graph.engine.plan import SETTLED, ExecutionPlan, PlanStep
from plangate.graph.engine.references import StepReferenceError, resolve
from plangate.graph.engine.risk import needs_approval as steps_needing_approval
from plangate.graph.engine.scheduler import effective, schedule
from plangate.graph.engine.step_runner import MAX_OUTPUT_CHARS, run_tool_step
from plangate.graph.events import emit
from plangate.graph.io import IO
from plangate.graph.services import Services
from plangate.graph.state import AgentState, StepResult, StepTask, by_step_id, skipped_result


async def dispatch(state: AgentState, runtime: Runtime[Context], io: IO, *, services: Services) -> dict[str, Any]:
    """Settle skips, pick the next wave (or approval / replan / summary) and report progress."""
    ctx = services.context(runtime)
    plan = ExecutionPlan.of(state)
    results = by_step_id(state.get("step_results"))
    elapsed = int(state.get("plan_elapsed_ms") or 0) + wave_span_ms(plan, results, state.get("wave") or [])
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


def route_after_dispatch(state: AgentState, *, watch_saves: bool = False) -> list[Send] | Literal["approve_steps", "replanner", "summarizer"]:
    """Send one run_step task per step of the wave (with its board), or move on. `watch_saves`: the checkpointer
    reports saved results (`board.watch`), so a dependent starts only once its prerequisites are saved."""
    action = state.get("next_action")
    if action != "run":
        return {"approve": "approve_steps", "replan": "replanner"}.get(action, "summarizer")  # type: ignore[return-value]
    plan = ExecutionPlan.of(state)
    results = by_step_id(state.get("step_results"))
    approvals = by_step_id(state.get("approvals"))
    budget_s = float(state.get("step_budget_s") or 1.0)
    wave = list(state.get("wave") or [])
    parallel = coerce_context(get_runtime(Context).context).max_parallel_steps
    key = f"{plan.plan_id}:{uuid.uuid4().hex[:12]}"
    thread_id = (get_config().get("configurable") or {}).get("thread_id")
    boards.post(key, boards.Board(plan, results, wave, approvals=approvals, max_parallel=parallel, budget_s=budget_s,
                                  thread_id=None if thread_id is None else str(thread_id),
                                  watch_saves=watch_saves and thread_id is not None))
    sends = []
    for step_id in wave:
        step = plan.step(step_id)
        data = step.model_dump()
        if approvals.get(step_id, {}).get("decision") == "edit":
            data["args"] = approvals[step_id]["args"]
        needed = [i for i in step.prerequisites() if i != step_id]
        refs = {i: effective(plan, results, i) for i in needed if i in results}
        ready = all((results.get(i) or {}).get("status") in SETTLED for i in needed)
        sends.append(Send("run_step", StepTask(step=data, results=refs, plan_id=plan.plan_id, deadline=budget_s,
                                               board=key, ready=ready)))
    return sends


def wave_span_ms(plan: ExecutionPlan, results: dict[int, StepResult], wave: list[int]) -> int:
    """How long the last wave took: its longest chain of step durations (steps start when their prerequisites settle)."""
    finish: dict[int, int] = {}
    for step_id in sorted(wave):
        entry = results.get(step_id)
        if not entry or entry["status"] not in SETTLED:
            continue
        start = max((finish.get(i, 0) for i in plan.step(step_id).prerequisites() if i != step_id), default=0)
        finish[step_id] = start + int(entry.get("duration_ms") or 0)
    return max(finish.values(), default=0)


def _text_fields(services: Services, name: str) -> frozenset[str]:
    """Arguments the tool declares as plain strings (a referenced dict is rendered as text there)."""
    properties = services.registry.provider_schema(name)["function"].get("parameters", {}).get("properties", {})
    return frozenset(k for k, v in properties.items() if v.get("type") == "string")


async def run_step(task: StepTask, runtime: Runtime[Context], io: IO, *, services: Services) -> dict[str, Any]:
    """Wait for this step's turn on the wave's board, run it (or the iterations of a loop step), record its StepResult."""
    step_id = int(task["step"]["id"])
    board = boards.find(task.get("board"))
    try:
        if board is None:  # resumed in a new process: run only what was ready at dispatch; `dispatch` sends the rest
            verdict = boards.Verdict("run", by_step_id(task["results"])) if task.get("ready", True) else boards.Verdict("stop")
            budget_s = float(task["deadline"])
        else:
            verdict = await io.result(board.verdicts[step_id])
            budget_s = board.remaining_s()
        if verdict.action == "stop":
            return {}
        tool = task["step"]["tool"]
        if verdict.action == "skip":
            emit("step_skipped", plan_id=task["plan_id"], step=step_id, tool=tool, reason=verdict.reason)
            return {"step_results": {step_id: skipped_result(verdict.reason or "skipped", tool)}}
        update = await _run(task, verdict.refs, max(budget_s, 0.001), runtime, io, services)
        if board is not None:
            board.settle(step_id, update["step_results"][step_id])
        return update
    finally:
        if board is not None:
            board.settle(step_id, None)  # no-op once settled; frees waiting steps if this one ended abnormally
            if board.finished():
                boards.close(str(task.get("board")))


async def _run(task: StepTask, available: dict[int, Any], budget_s: float, runtime: Runtime[Context], io: IO,
               services: Services) -> dict[str, Any]:
    ctx = services.context(runtime)
    step = PlanStep.model_validate(task["step"])
    retries = step.retries if step.retries is not None else ctx.step_retries
    timeout_s = min(step.timeout_s or ctx.step_timeout_s, budget_s)
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
            result["output"] = capped_outputs(outputs)
        result["iterations"] = len(outputs)
    llm_calls = sum(int(o.get("llm_calls", 0)) for o in outputs if isinstance(o, dict))
    metrics = {"tool_calls": attempts, "step_durations": {str(step.id): duration}}
    if llm_calls:
        metrics["llm_calls"] = llm_calls
    return {"step_results": {step.id: result}, "metrics": metrics}


def capped_outputs(outputs: list[Any], limit: int = MAX_OUTPUT_CHARS) -> list[Any]:
    """A loop step's outputs, capped like one output: whole iterations while they fit, then a note of the rest."""
    kept: list[Any] = []
    size = 2
    for index, output in enumerate(outputs):
        size += len(json.dumps(output, ensure_ascii=False, default=str)) + 2
        if size > limit:
            dropped = len(outputs) - index
            kept.append({"message": f"{dropped} more iteration output(s) left out: the loop's outputs passed {limit} characters",
                         "truncated": True, "dropped": dropped})
            break
        kept.append(output)
    return kept
