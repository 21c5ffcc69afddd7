"""Section 5: throughput and p95 latency at 1, 10, 50 and 200 concurrent threads (async).

Each of N threads sends R requests one after another on its own thread id (a multi-turn
conversation), cycling through the suite, with plangate in cascade mode on AsyncSqliteSaver
(`plangate.graph.persistence.savers.open_async_sqlite`) or AsyncPostgresSaver (`open_async_postgres`).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from itertools import cycle
from pathlib import Path
from typing import Any

from bench.config import BenchConfig
from bench.pg import bench_url
from bench.stats import median, p95
from bench.systems import Measurement, ameasure, build
from bench.tasks import SUITE
from plangate.graph.persistence.handle import Persistence
from plangate.graph.persistence.savers import open_async_postgres, open_async_sqlite

LEVELS = (1, 10, 50, 200)
WORKLOAD = [t for t in SUITE if "rules-trap" not in t.tags]


def requests_per_thread(threads: int) -> int:
    return {1: 6, 10: 3}.get(threads, 2)


@asynccontextmanager
async def backend(kind: str, cfg: BenchConfig, folder: Path) -> AsyncIterator[Persistence | None]:
    if kind == "sqlite":
        async with open_async_sqlite(str(folder / f"scale-{uuid.uuid4().hex[:6]}.sqlite")) as p:
            yield p
        return
    url = bench_url(cfg.pg_url)
    if url is None:
        yield None
        return
    async with open_async_postgres(url) as p:
        yield p


async def level(kind: str, threads: int, cfg: BenchConfig, folder: Path) -> dict[str, Any]:
    model_s, tool_s = cfg.scale_latency()
    per_thread = 1 if cfg.quick else requests_per_thread(threads)
    async with backend(kind, cfg, folder) as persistence:
        if persistence is None:
            return {"backend": kind, "threads": threads, "skipped": "PostgreSQL at 127.0.0.1:5432 could not be reached"}
        system = build("plangate-cascade", model_s=model_s, tool_s=tool_s, checkpointer=persistence.checkpointer,
                       store=persistence.store)
        tasks = cycle(WORKLOAD)
        plans = [[next(tasks) for _ in range(per_thread)] for _ in range(threads)]

        async def conversation(turns: list[Any]) -> list[Measurement]:
            config = system.config()
            return [await ameasure(system, task, config) for task in turns]

        started, cpu = time.perf_counter(), time.process_time()
        done = await asyncio.gather(*(conversation(p) for p in plans))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    results = [m for conv in done for m in conv]
    latencies = [m.latency_s for m in results]
    return {"backend": kind, "threads": threads, "requests": len(results), "wall_s": wall,
            "throughput_rps": len(results) / wall, "median_s": median(latencies), "p95_s": p95(latencies),
            "cpu_ms_per_request": 1000 * cpu / len(results), "cpu_busy": cpu / wall,
            "errors": sum(1 for m in results if m.error), "wrong": sum(1 for m in results if not m.error and not m.correct),
            "error_samples": sorted({m.error for m in results if m.error})[:3], "model_s": model_s, "tool_s": tool_s}


async def run(cfg: BenchConfig) -> dict[str, Any]:
    levels = (1, 10) if cfg.quick else LEVELS
    rows = []
    with tempfile.TemporaryDirectory(prefix="plangate-bench-") as tmp:
        for kind in ("sqlite", "postgres"):
            for threads in levels:
                rows.append(await level(kind, threads, cfg, Path(tmp)))
    return {"rows": rows}
