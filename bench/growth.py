"""Section 6: how latency, model calls and tokens grow with plan size, 1 -> 20 steps, chain vs wide DAG.

Runs at a tenth of the issue's latencies (0.05 s per model call, 0.03 s per tool call; the summary
says so) because the P&E tutorial needs 3n+1 model calls for n steps. plangate runs with its
default `max_parallel_steps` and once more with the cap at 20, to show what the cap costs.
"""

from __future__ import annotations

from typing import Any

from bench.config import BenchConfig
from bench.latency import gather_bounded
from bench.systems import ameasure, build
from bench.tasks import growth_task

SIZES = (1, 2, 5, 10, 15, 20)
SHAPES = ("chain", "wide")
SYSTEMS = ("plangate-cascade", "plangate-cascade-p20", "react", "plan-execute", "llm-compiler")


def _build(name: str, model_s: float, tool_s: float) -> Any:
    if name == "plangate-cascade-p20":
        system = build("plangate-cascade", model_s=model_s, tool_s=tool_s, context={"max_parallel_steps": 20})
        system.name = name
        return system
    return build(name, model_s=model_s, tool_s=tool_s)


async def run(cfg: BenchConfig) -> dict[str, Any]:
    model_s, tool_s = cfg.growth_latency()
    sizes = (1, 5, 20) if cfg.quick else SIZES
    systems = {name: _build(name, model_s, tool_s) for name in SYSTEMS}
    tasks = [growth_task(n, shape) for n in sizes for shape in SHAPES]
    jobs = [ameasure(systems[s], t) for t in tasks for s in SYSTEMS]
    measured = await gather_bounded(jobs, 3)  # few in flight: at 0.05 s per call, CPU contention would show
    rows = []
    for m, (task, system) in zip(measured, [(t, s) for t in tasks for s in SYSTEMS], strict=True):
        rows.append({**m.row(), "shape": "chain" if task.id.startswith("chain") else "wide", "size": len(task.steps),
                     "system": system, "critical_path_s": task.critical_path(model_s, tool_s)})
    return {"model_s": model_s, "tool_s": tool_s, "sizes": list(sizes), "rows": rows}
