"""Which plan steps run next: a pure function of the plan, the results so far and the approvals.

`dispatch` calls `schedule()` once per superstep. It decides skips (false conditions, unneeded
fallbacks, steps that depend only on skipped steps, plan timeout, a halt), the next wave, and whether
the plan needs approval, a replan or its summary. A wave holds the ready steps and every pending step
whose prerequisites are settled or in the wave: they start as soon as those settle (see `board`), so no
step waits for a superstep's slowest step. `gate()` is the per-step test both use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from plangate.graph.engine.conditions import holds
from plangate.graph.engine.plan import SETTLED, ExecutionPlan, PlanStep

Action = Literal["run", "approve", "replan", "summarize"]


@dataclass
class Schedule:
    action: Action
    wave: list[int] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)  # run: the steps of the wave that can start at once
    skip: dict[int, str] = field(default_factory=dict)
    halted: str | None = None


def _status(results: Mapping[int, Mapping[str, Any]], step_id: int) -> str:
    entry = results.get(step_id)
    return entry["status"] if entry else "pending"


def fallbacks(plan: ExecutionPlan) -> dict[int, int]:
    """{failed-step id: its fallback step id}."""
    return {s.fallback_for: s.id for s in plan.steps if s.type == "fallback" and s.fallback_for is not None}


def effective(plan: ExecutionPlan, results: Mapping[int, Mapping[str, Any]], step_id: int) -> dict[str, Any]:
    """A step's result as later steps see it: a failed step's completed fallback stands in for it."""
    entry = dict(results.get(step_id) or {"status": "pending", "output": None, "error": None})
    if entry["status"] == "failed":
        backup = fallbacks(plan).get(step_id)
        if backup is not None:
            backup_entry = results.get(backup)
            if backup_entry is None or backup_entry["status"] not in SETTLED:
                return {**entry, "status": "pending"}
            if backup_entry["status"] == "completed":
                return dict(backup_entry)
    return entry


def unhandled_failures(plan: ExecutionPlan, results: Mapping[int, Mapping[str, Any]], handled: list[int]) -> list[int]:
    """Failed steps not covered by a completed fallback and not yet shown to the replanner."""
    return [
        s.id
        for s in plan.steps
        if _status(results, s.id) == "failed"
        and s.id not in handled
        and effective(plan, results, s.id)["status"] == "failed"
    ]


def gate(step: PlanStep, plan: ExecutionPlan, results: Mapping[int, Mapping[str, Any]]) -> tuple[str, str | None]:
    """('wait' | 'ready' | 'skip' | 'blocked', reason) for one pending step."""
    for needed in step.prerequisites():
        if needed == step.id:
            continue
        if _status(results, needed) not in SETTLED:
            return "wait", None
    if step.type == "fallback" and step.fallback_for is not None:
        target = _status(results, step.fallback_for)
        if target == "completed":
            return "skip", f"step {step.fallback_for} succeeded, so its fallback is not needed"
        if target == "skipped":
            return "skip", f"step {step.fallback_for} was skipped"
    deps = set(step.depends_on) | step.references()
    seen = {d: effective(plan, results, d)["status"] for d in deps}
    if any(s == "pending" for s in seen.values()):
        return "wait", None
    if seen and all(s == "skipped" for s in seen.values()):
        return "skip", f"it depends only on skipped step(s) {sorted(seen)}"
    failed = sorted(d for d, s in seen.items() if s == "failed")
    if failed:
        return "blocked", f"step(s) {failed} it needs failed"
    if step.condition is not None and step.condition.step != step.id:
        entry = effective(plan, results, step.condition.step)
        if not holds(step.condition, entry):
            c = step.condition
            return "skip", f"condition not met: step {c.step} {c.op} {c.value!r}" if c.value is not None else f"condition not met: step {c.step} {c.op}"
    return "ready", None


def schedule(
    plan: ExecutionPlan,
    results: Mapping[int, Mapping[str, Any]],
    *,
    approvals: dict[int, dict[str, Any]],
    needs_approval: set[int],
    handled: list[int],
    replans_left: bool,
    max_parallel: int,
    timed_out: str | None = None,
    halted: str | None = None,
) -> Schedule:
    """The next move for the plan. Skips cascade within one call, so a whole skipped chain settles at once."""
    seen: dict[int, Mapping[str, Any]] = dict(results)  # skips decided here count as settled at once
    skip: dict[int, str] = {}
    for step in plan.steps:
        entry = results.get(step.id)
        if entry and entry["status"] == "failed" and step.stop_on_failure and not halted:
            halted = f"step {step.id} ({step.tool}) failed and is marked stop_on_failure"
    stop_reason = timed_out or halted
    pending = [s for s in plan.steps if _status(results, s.id) not in SETTLED]
    if stop_reason:
        skip = {s.id: stop_reason for s in pending}
        return Schedule("summarize", skip=skip, halted=halted)
    ready: list[int] = []
    blocked: dict[int, str] = {}
    changed = True
    while changed:
        changed = False
        for step in pending:
            if step.id in skip or step.id in ready:
                continue
            verdict, reason = gate(step, plan, seen)
            if verdict == "ready" and approvals.get(step.id, {}).get("decision") == "reject":
                verdict, reason = "skip", f"rejected by the user: {approvals[step.id].get('reason') or 'no reason given'}"
            if verdict == "skip":
                skip[step.id] = reason or "skipped"
                seen[step.id] = {"status": "skipped", "output": None, "error": reason}
                changed = True
            elif verdict == "ready":
                ready.append(step.id)
            elif verdict == "blocked":
                blocked[step.id] = reason or "blocked"
    if ready:
        waiting = [i for i in ready if i in needs_approval and i not in approvals]
        if waiting:
            return Schedule("approve", wave=waiting, skip=skip)
        launch = set(ready)
        for step in pending:  # in id order: prerequisites are earlier steps
            if step.id in launch or step.id in skip or step.id in blocked or (step.id in needs_approval and step.id not in approvals):
                continue
            if all(p in launch or _status(seen, p) in SETTLED for p in step.prerequisites() - {step.id}):
                launch.add(step.id)
        return Schedule("run", wave=sorted(launch), ready=ready[:max_parallel], skip=skip)
    if replans_left and unhandled_failures(plan, seen, handled):
        return Schedule("replan", skip=skip)
    for step in pending:
        if step.id not in skip:
            skip[step.id] = f"not run: {blocked.get(step.id, 'its prerequisites did not complete')}"
    return Schedule("summarize", skip=skip)
