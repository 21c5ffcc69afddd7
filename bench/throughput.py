"""Section 7: throughput of the multi-worker Agent Server (`make serve-cluster`) against the single-process default.

The same closed loop (C clients, each sending the next request as soon as its last one is answered, every request on
a new thread, cycling through the suite) runs against:
- plangate in this process on SQLite (`open_async_sqlite`, the embedded default), and
- `langhost serve` (langgraph-api on langgraph-runtime-pg, PostgreSQL + Redis) with 1 and with 2 worker processes,
  serving `bench/served.py` (the same scripted model and tools, at the same fixed latencies), driven by langgraph-sdk
  (`runs.create` with `if_not_exists="create"`, then `runs.join`).

Cost per request is CPU time: this process for SQLite; for the server its processes, the PostgreSQL backends of its
database and the Redis server (Redis is shared with other users of the machine, so its share is approximate), with
the client's own CPU reported apart. The servers' logs split each request's time into queue wait and execution.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from itertools import cycle
from pathlib import Path
from typing import Any

from bench.config import BenchConfig
from bench.stats import median, p95
from bench.systems import ameasure, build
from bench.tasks import Task
from plangate.graph.persistence.savers import open_async_sqlite
from scripts import cluster_provision, serve_cluster

WORKLOAD_SKIP = "rules-trap"
GRAPH = "plangate_bench"
CONTEXT = {"router_mode": "cascade", "plan_library": False}  # as every other section: each request planned cold
CLK_TCK = os.sysconf("SC_CLK_TCK")


def workload() -> list[Task]:
    from bench.tasks import SUITE

    return [t for t in SUITE if WORKLOAD_SKIP not in t.tags]


# --- CPU accounting from /proc -------------------------------------------------------------------------------

def _cpu_s(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
    except (OSError, IndexError, ValueError):
        return None


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _matching(predicate: Callable[[str], bool]) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if predicate(title):
                found.append(int(entry.name))
    return found


def postgres_backends(database: str) -> list[int]:
    return _matching(lambda t: t.startswith("postgres: ") and f" {database} " in t)


def redis_servers() -> list[int]:
    return _matching(lambda t: "redis-server" in t.split(" ", 1)[0])


def snapshot(pids: list[int]) -> dict[int, float]:
    return {pid: cpu for pid in pids if (cpu := _cpu_s(pid)) is not None}


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


# --- the closed loop -----------------------------------------------------------------------------------------

async def closed_loop(submit: Callable[[Task], Awaitable[dict[str, Any]]], tasks: list[Task],
                      concurrency: int) -> tuple[list[dict[str, Any]], float]:
    queue: asyncio.Queue[Task] = asyncio.Queue()
    for task in tasks:
        queue.put_nowait(task)
    rows: list[dict[str, Any]] = []

    async def client() -> None:
        while not queue.empty():
            task = queue.get_nowait()
            started = time.perf_counter()
            row = await submit(task)
            rows.append({"task": task.id, "latency_s": time.perf_counter() - started, **row})

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return rows, time.perf_counter() - started


def summary(rows: list[dict[str, Any]], wall: float) -> dict[str, Any]:
    latencies = [r["latency_s"] for r in rows]
    return {"requests": len(rows), "wall_s": wall, "throughput_rps": len(rows) / wall,
            "median_s": median(latencies), "p95_s": p95(latencies),
            "errors": sum(1 for r in rows if r.get("error")), "wrong": sum(1 for r in rows if not r.get("error")
                                                                          and not r.get("correct")),
            "error_samples": sorted({str(r["error"]) for r in rows if r.get("error")})[:3]}


async def expected_counts(tasks: list[Task]) -> dict[str, tuple[int, int]]:
    """(model calls, tool calls) of a correct in-process run of each task, at zero latency."""
    reference = build("plangate-cascade", model_s=0, tool_s=0)
    counts = {}
    for task in {t.id: t for t in tasks}.values():
        measured = await ameasure(reference, task)
        assert measured.correct, (task.id, measured.error)
        counts[task.id] = (measured.model_calls, measured.tool_calls)
    return counts


# --- the two systems -----------------------------------------------------------------------------------------

async def sqlite_level(cfg: BenchConfig, tasks: list[Task], concurrency: int, folder: Path) -> dict[str, Any]:
    model_s, tool_s = cfg.scale_latency()
    async with open_async_sqlite(str(folder / f"throughput-{uuid.uuid4().hex[:6]}.sqlite")) as persistence:
        system = build("plangate-cascade", model_s=model_s, tool_s=tool_s, checkpointer=persistence.checkpointer,
                       store=persistence.store)

        async def submit(task: Task) -> dict[str, Any]:
            measured = await ameasure(system, task)
            return {"error": measured.error, "correct": measured.correct}

        await closed_loop(submit, tasks[:concurrency], concurrency)  # warm-up, not measured
        cpu = time.process_time()
        rows, wall = await closed_loop(submit, tasks, concurrency)
        cpu = time.process_time() - cpu
    return {"system": "sqlite, 1 process", "workers": 0, "concurrency": concurrency, **summary(rows, wall),
            "cpu_ms_per_request": {"process": 1000 * cpu / len(rows)}, "cpu_busy": cpu / wall}


async def server_level(server: Any, database: str, cfg: BenchConfig, tasks: list[Task], concurrency: int,
                       expected: dict[str, tuple[int, int]]) -> dict[str, Any]:
    from langgraph_sdk import get_client

    client = get_client(url=server.url, timeout=120)
    runs: list[str] = []

    async def submit(task: Task) -> dict[str, Any]:
        try:
            run = await client.runs.create(str(uuid.uuid4()), GRAPH, if_not_exists="create", context=CONTEXT,
                                           input={"messages": [{"role": "user", "content": task.request}]})
            runs.append(run["run_id"])
            out = await client.runs.join(run["thread_id"], run["run_id"])
        except Exception as exc:  # recorded: errors are a result
            return {"error": f"{type(exc).__name__}: {exc}"[:200]}
        if not isinstance(out, dict) or "__error__" in out or "metrics" not in out:
            return {"error": f"run ended without a result: {str(out)[:200]}"}
        metrics = out["metrics"]
        return {"error": None, "correct": (metrics["llm_calls"], metrics["tool_calls"]) == expected[task.id]}

    await closed_loop(submit, tasks[:concurrency], concurrency)  # warm-up: pools, first plans
    runs.clear()
    pids = server.pids()
    before = {"server": snapshot(pids), "postgres": snapshot(postgres_backends(database)),
              "redis": snapshot(redis_servers())}
    cpu = time.process_time()
    rows, wall = await closed_loop(submit, tasks, concurrency)
    client_cpu = time.process_time() - cpu
    after = {"server": snapshot(server.pids()), "postgres": snapshot(postgres_backends(database)),
             "redis": snapshot(redis_servers())}
    cost = {k: 1000 * spent(before[k], after[k]) / len(rows) for k in before}
    mine = set(runs)
    done = [r for r in _log_records(server.log_text(), "Background run succeeded") if r.get("run_id") in mine]
    waits = [r["run_wait_time_ms"] / 1000 for r in done if r.get("run_wait_time_ms") is not None]
    execs = [r["run_exec_ms"] / 1000 for r in done if r.get("run_exec_ms") is not None]
    latencies = [r["latency_s"] for r in rows]
    return {"system": f"server, {server.workers} worker{'s' * (server.workers > 1)}", "workers": server.workers,
            "concurrency": concurrency, **summary(rows, wall),
            "cpu_ms_per_request": {**cost, "client": 1000 * client_cpu / len(rows)},
            "cpu_busy": spent(before["server"], after["server"]) / wall,
            "rss_mb": sum(_rss_mb(p) for p in pids),
            "time_split_median_s": {"queue_wait": median(waits), "execution": median(execs),
                                    "api_and_client": median(latencies) - median(waits) - median(execs)},
            "time_split_p95_s": {"queue_wait": p95(waits), "execution": p95(execs)}, "logged_runs": len(done)}


def _log_records(text: str, event: str) -> list[dict[str, Any]]:
    records = []
    for line in text.splitlines():
        if line.startswith("{") and event in line:
            with contextlib.suppress(ValueError):
                records.append(json.loads(line))
    return records


async def run(cfg: BenchConfig) -> dict[str, Any]:
    levels = (4,) if cfg.quick else (8, 32)
    model_s, tool_s = cfg.scale_latency()
    base = workload()
    expected = await expected_counts(base)
    plans = {c: [t for t, _ in zip(cycle(base), range((3 if cfg.quick else 4) * c), strict=False)] for c in levels}
    rows: list[dict[str, Any]] = []
    serve = serve_cluster
    database_uri = f"{cfg.pg_url.rsplit('/', 1)[0]}/plangate_bench_cluster_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="plangate-throughput-") as tmp:
        folder = Path(tmp)
        for concurrency in levels:
            rows.append(await sqlite_level(cfg, plans[concurrency], concurrency, folder))
        config = folder / "langgraph.json"
        config.write_text(json.dumps({"dependencies": ["."], "graphs": {GRAPH: "bench.served:graph"}}))
        env = {"BENCH_MODEL_S": str(model_s), "BENCH_TOOL_S": str(tool_s), "LOG_JSON": "true",
               "PLANGATE_HOME": str(folder / "home"), "PLANGATE_NOTIFY": "off"}
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("PLANGATE_", "OPENAI_", "LANGSMITH_"))}
        serve.install()
        serve.ensure_database(database_uri)
        try:
            serve.migrate(database_uri)
            with cluster_provision.free_redis_database() as redis_uri:
                for workers in (1, 2):
                    server = serve.start_server(port=_free_port(), workers=workers, database_uri=database_uri,
                                                redis_uri=redis_uri, log=folder / f"server-{workers}.log",
                                                jobs_per_worker=max(levels), config=str(config), env=env,
                                                base_env=clean, prepare=False)
                    try:
                        for concurrency in levels:
                            rows.append(await server_level(server, serve.database_name(database_uri), cfg,
                                                           plans[concurrency], concurrency, expected))
                    finally:
                        server.stop()
        finally:
            cluster_provision.drop_database(database_uri)
    return {"rows": rows, "model_s": model_s, "tool_s": tool_s, "levels": list(levels),
            "runtime": " + ".join(serve.RUNTIME), "cpus": os.cpu_count()}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
