"""Sections 1-3: latency, model calls and tokens per task class, side by side, and the critical path.

Every system runs every task of the suite once (replies and sleeps are deterministic), a few
requests in flight at a time, interleaved task by task so all systems see the same machine load.
The BSP tasks (heterogeneous tool latencies) run on plangate and LLMCompiler to price supersteps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from bench.config import BenchConfig
from bench.stats import mean, median, p95, ratio
from bench.systems import BASELINES, SYSTEMS, Measurement, ameasure, build
from bench.tasks import BSP, CLASSES, SUITE, Task
from plangate import Context

COMPLEX = ("independent", "chained", "failing")
MAX_PARALLEL = Context().max_parallel_steps


async def gather_bounded(jobs: Iterable[Any], limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return list(await asyncio.gather(*(one(j) for j in jobs)))


def task_facts(task: Task, model_s: float, tool_s: float) -> dict[str, Any]:
    return {"critical_path_s": task.critical_path(model_s, tool_s), "tool_chain_s": task.tool_chain(tool_s),
            "bsp_chain_s": task.bsp_chain(tool_s, MAX_PARALLEL), "bsp_uncapped_s": task.bsp_chain(tool_s),
            "waves": len(task.waves(MAX_PARALLEL)), "tags": list(task.tags)}


def _group(rows: list[dict[str, Any]], system: str, classes: Iterable[str]) -> list[dict[str, Any]]:
    wanted = set(classes)
    return [r for r in rows if r["system"] == system and r["cls"] in wanted]


def class_stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    lat = [r["latency_s"] for r in rows]
    return {"n": len(rows), "median_s": median(lat), "p95_s": p95(lat), "model_calls": mean(r["model_calls"] for r in rows),
            "input_tokens": mean(r["input_tokens"] for r in rows), "output_tokens": mean(r["output_tokens"] for r in rows),
            "tool_calls": mean(r["tool_calls"] for r in rows), "correct": sum(r["correct"] for r in rows),
            "errors": sum(1 for r in rows if r["error"]),
            "routing_calls": mean(r["kinds"].get("route", 0) for r in rows),
            "vs_critical_median": median([r["latency_s"] / r["critical_path_s"] for r in rows]),
            "vs_critical_max": max((r["latency_s"] / r["critical_path_s"] for r in rows), default=float("nan"))}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    groups = {**{c: (c,) for c in CLASSES}, "complex": COMPLEX}
    table = {s: {g: class_stats(_group(rows, s, cs)) for g, cs in groups.items()} for s in SYSTEMS}
    ratios = {
        p: {b: {g: ratio(table[p][g]["median_s"], table[b][g]["median_s"]) for g in groups} for b in BASELINES}
        for p in ("plangate-cascade", "plangate-llm")
    }
    return {"table": table, "ratios": ratios}


async def run(cfg: BenchConfig, tasks: tuple[Task, ...] = SUITE) -> dict[str, Any]:
    model_s, tool_s = cfg.main_latency()
    systems = {name: build(name, model_s=model_s, tool_s=tool_s) for name in SYSTEMS}
    bsp_systems = ("plangate-cascade", "llm-compiler")
    jobs = [(systems[s], t) for t in tasks for s in SYSTEMS] + [(systems[s], t) for t in BSP for s in bsp_systems]
    measured: list[Measurement] = await gather_bounded((ameasure(s, t) for s, t in jobs), cfg.concurrency)
    facts = {t.id: task_facts(t, model_s, tool_s) for t in (*tasks, *BSP)}
    rows = [{**m.row(), **facts[m.task]} for m in measured]
    suite_ids = {t.id for t in tasks}
    main_rows = [r for r in rows if r["task"] in suite_ids]
    return {"model_s": model_s, "tool_s": tool_s, "concurrency": cfg.concurrency, "max_parallel_steps": MAX_PARALLEL,
            "rows": main_rows, "bsp_rows": [r for r in rows if r["task"] not in suite_ids], **summarize(main_rows),
            "wide_cap8": await wide_cap8(cfg)}


async def wide_cap8(cfg: BenchConfig) -> dict[str, float]:
    """c07 and c08 (5 and 6 independent steps) with max_parallel_steps=8: latency / critical path. At the default
    cap of 4 their fifth step waits for a free slot, which the critical path (no cap) does not count."""
    model_s, tool_s = cfg.main_latency()
    system = build("plangate-cascade", model_s=model_s, tool_s=tool_s, context={"max_parallel_steps": 8})
    wide = [t for t in SUITE if t.id in ("c07", "c08")]
    measured = await gather_bounded((ameasure(system, t) for t in wide), cfg.concurrency)
    return {m.task: m.latency_s / t.critical_path(model_s, tool_s) for m, t in zip(measured, wide, strict=True)}


async def warm_library(cfg: BenchConfig, tasks: tuple[Task, ...] = SUITE) -> dict[str, Any]:
    """plangate (cascade) with its plan library on: each complex request twice, the repeat measured."""
    model_s, tool_s = cfg.main_latency()
    system = build("plangate-cascade", model_s=model_s, tool_s=tool_s, context={"plan_library": True})
    system.name = "plangate-cascade-warm"

    async def twice(task: Task) -> Measurement:
        await ameasure(system, task)
        return await ameasure(system, task)

    complex_tasks = [t for t in tasks if not t.simple]
    measured = await gather_bounded((twice(t) for t in complex_tasks), cfg.concurrency)
    facts = {t.id: task_facts(t, model_s, tool_s) for t in complex_tasks}
    rows = [{**m.row(), **facts[m.task], "library_hit": "plan" not in m.kinds} for m in measured]
    groups = {**{c: (c,) for c in COMPLEX}, "complex": COMPLEX}
    return {"rows": rows, "table": {g: {**class_stats([r for r in rows if r["cls"] in cs]),
                                        "hits": sum(r["library_hit"] for r in rows if r["cls"] in cs)}
                                    for g, cs in groups.items()}}
