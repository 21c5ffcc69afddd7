"""Section 4: framework overhead with zero-latency models and tools.

Per-request time of plangate (sync `invoke`) with InMemorySaver, SqliteSaver and PostgresSaver,
against a bare LangGraph graph with the same supersteps on the same checkpointer. The time the
scripted model spends computing its replies is measured too and reported separately, since a
real model's client would spend its own (different) time there.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from bench.bare import build_bare, schedule_of
from bench.config import RESULTS, BenchConfig
from bench.pg import bench_url
from bench.profiling import profile_async
from bench.stats import median, p95
from bench.systems import ameasure, build, measure
from bench.tasks import by_id
from bench.tools import SPECS
from plangate.graph.persistence.savers import open_postgres, open_sqlite

TASKS = ("s01", "c10", "c07")  # fast path; a 3-step chain; 5 independent steps (two waves: max_parallel_steps=4)


@contextmanager
def saver(kind: str, cfg: BenchConfig, folder: Path) -> Iterator[tuple[Any, Any] | None]:
    if kind == "memory":
        yield InMemorySaver(), InMemoryStore()
    elif kind == "sqlite":
        with open_sqlite(str(folder / "overhead.sqlite")) as p:
            yield p.checkpointer, p.store
    else:
        url = bench_url(cfg.pg_url)
        if url is None:
            yield None
            return
        with open_postgres(url) as p:
            yield p.checkpointer, p.store


def _timed(fn: Callable[[], Any], n: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def _interleaved(first: Callable[[], Any], second: Callable[[], Any], n: int, warmup: int = 3) -> tuple[list[float], list[float]]:
    """Time `first` and `second` alternately, so both see the same machine load."""
    a, b = _timed(first, 0, warmup), _timed(second, 0, warmup)
    for _ in range(n):
        a += _timed(first, 1, 0)
        b += _timed(second, 1, 0)
    return a, b


def paired_ratio(a: list[float], b: list[float]) -> float:
    """Median of run-by-run ratios of interleaved timings (robust to the load drifting during the run)."""
    return median([x / y for x, y in zip(a, b, strict=True) if y > 0])


def _bare_runner(schedule: list[tuple[str, int]], checkpointer: Any) -> Callable[[], Any]:
    bare = build_bare(schedule, checkpointer=checkpointer)
    return lambda: bare.invoke({"messages": [{"role": "user", "content": "x"}]},
                               {"configurable": {"thread_id": uuid.uuid4().hex}})


def measure_kind(kind: str, cfg: BenchConfig, n: int, folder: Path) -> list[dict[str, Any]]:
    rows = []
    with saver(kind, cfg, folder) as pair:
        if pair is None:
            return [{"saver": kind, "skipped": "PostgreSQL at 127.0.0.1:5432 could not be reached"}]
        checkpointer, store = pair
        system = build("plangate-cascade", model_s=0.0, tool_s=0.0, checkpointer=checkpointer, store=store)
        for task_id in TASKS:
            task = by_id(task_id)
            config = system.config()
            probe = measure(system, task, config)
            if not probe.correct:
                raise RuntimeError(f"{task_id}: plangate did the wrong work in the overhead run: {probe}")
            schedule = schedule_of(system.graph, config)
            sims: list[float] = []

            def plangate_once(task: Any = task, sims: list[float] = sims) -> None:
                sims.append(measure(system, task).model_cpu_s)

            plangate, bare = _interleaved(plangate_once, _bare_runner(schedule, checkpointer), n)
            sim = sims[-n:]
            own = [t - s for t, s in zip(plangate, sim, strict=True)]
            rows.append({
                "saver": kind, "task": task_id, "supersteps": len(schedule), "tasks": sum(c for _, c in schedule),
                "schedule": schedule, "n": n,
                "plangate_ms": 1000 * median(plangate), "plangate_p95_ms": 1000 * p95(plangate),
                "model_sim_ms": 1000 * median(sim), "plangate_own_ms": 1000 * median(own),
                "bare_ms": 1000 * median(bare), "bare_p95_ms": 1000 * p95(bare),
                "ratio": paired_ratio(plangate, bare), "ratio_own": paired_ratio(own, bare),
            })
    return rows


def durability_cost(cfg: BenchConfig, n: int, folder: Path) -> list[dict[str, Any]]:
    """Plain `invoke` (input and supersteps saved in the background) vs `invoke_durably` (the CLI's way: request
    saved first, each superstep saved before the next starts), interleaved, on the persistent savers."""
    rows = []
    for kind in ("sqlite", "postgres"):
        with saver(kind, cfg, folder) as pair:
            if pair is None:
                rows.append({"saver": kind, "skipped": "PostgreSQL at 127.0.0.1:5432 could not be reached"})
                continue
            plain = build("plangate-cascade", model_s=0.0, tool_s=0.0, checkpointer=pair[0], store=pair[1])
            durable = replace(plain, durable=True)
            for task_id in ("s01", "c10", "c07"):
                task = by_id(task_id)
                a, b = _interleaved(partial(measure, plain, task), partial(measure, durable, task), n)
                rows.append({"saver": kind, "task": task_id, "n": n, "async_ms": 1000 * median(a),
                             "durable_ms": 1000 * median(b), "ratio": paired_ratio(b, a)})
    return rows


def profile(cfg: BenchConfig, runs: int) -> dict[str, Any]:
    """Where a zero-latency request spends its time (async, InMemorySaver, the 3-step chain): plangate, and the
    bare graph with the same supersteps, so the LangGraph runtime's share can be compared."""
    system = build("plangate-cascade", model_s=0.0, tool_s=0.0)
    task = by_id("c10")
    config = system.config()
    measure(system, task, config)
    bare = build_bare(schedule_of(system.graph, config), checkpointer=InMemorySaver())

    def bare_once() -> Any:
        return bare.ainvoke({"messages": [{"role": "user", "content": "x"}]}, {"configurable": {"thread_id": uuid.uuid4().hex}})

    plangate = profile_async(lambda: ameasure(system, task), runs, RESULTS, "profile_overhead")
    return {**plangate, "bare": profile_async(bare_once, runs, RESULTS, "profile_bare")}


@contextmanager
def cached_tool_spec() -> Iterator[None]:
    """What-if: `plangate.graph.models.structured.tool_spec` memoized (a copy of the cached spec per call). Bench process only."""
    import copy
    import json

    import plangate.graph.models.structured as structured

    original = structured.tool_spec
    cache: dict[Any, Any] = {}

    def cached(schema: Any, *args: Any, **kwargs: Any) -> Any:
        key = (schema, json.dumps([args, kwargs], sort_keys=True, default=str))
        if key not in cache:
            cache[key] = original(schema, *args, **kwargs)
        return copy.deepcopy(cache[key])

    structured.tool_spec = cached
    try:
        yield
    finally:
        structured.tool_spec = original


def what_if_cached_schema(n: int) -> list[dict[str, Any]]:
    """plangate vs the bare graph (InMemorySaver) with and without the planner's tool schema memoized."""
    rows = []
    for cached in (False, True):
        with cached_tool_spec() if cached else nullcontext():
            system = build("plangate-cascade", model_s=0.0, tool_s=0.0)
            for task_id in ("c10", "c07"):
                task = by_id(task_id)
                config = system.config()
                measure(system, task, config)
                bare = _bare_runner(schedule_of(system.graph, config), InMemorySaver())
                plangate, base = _interleaved(lambda task=task, system=system: measure(system, task), bare, n)
                rows.append({"task": task_id, "tool_spec_cached": cached, "plangate_ms": 1000 * median(plangate),
                             "bare_ms": 1000 * median(base), "ratio": paired_ratio(plangate, base)})
    return rows


def planner_schema_ms(n: int = 20) -> float:
    """Time to turn PlanDraft into a tool spec, which plangate redoes on every planner call."""
    from plangate.graph.engine.plan import PlanDraft
    from plangate.graph.models.structured import tool_spec

    names = [spec.plan_name for spec in SPECS]
    times = _timed(lambda: tool_spec(PlanDraft, {"tool": names}), n, warmup=2)
    return 1000 * median(times)


def run(cfg: BenchConfig) -> dict[str, Any]:
    n = 8 if cfg.quick else 60
    with tempfile.TemporaryDirectory(prefix="plangate-bench-") as tmp:
        rows = [row for kind in ("memory", "sqlite", "postgres") for row in measure_kind(kind, cfg, n, Path(tmp))]
        durability = durability_cost(cfg, n, Path(tmp))
    return {"rows": rows, "durability": durability, "planner_schema_ms": planner_schema_ms(), "what_if": what_if_cached_schema(n),
            "profile": profile(cfg, 10 if cfg.quick else 60)}
