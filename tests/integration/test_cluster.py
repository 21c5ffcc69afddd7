"""plangate on two LangGraph Agent Server processes sharing PostgreSQL and Redis (issue 17; `make serve-cluster`).

Two `langhost serve` processes (langgraph-api on langgraph-runtime-pg), started by scripts/serve_cluster.py on a
throwaway database and an empty Redis database, serve the repo's langgraph.json. Work started through one process
is read, joined, streamed and resumed through the other; a process SIGKILLed in the middle of a slow weather step
(a stub on 127.0.0.1) is replaced by the survivor without running a finished step again; and a thread never runs
in both processes at once.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import ConflictError

from scripts import serve_cluster
from tests.integration.cluster import (
    WeatherStub,
    free_redis_database,
    log_events,
    throwaway_database,
    timestamp,
)
from tests.integration.devserver import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HEARTBEAT_S = 3  # heartbeat keys live 2 x this; the queue sweeps every 2 x this: takeover in about 6-12 s
KILL_BUDGET_S = 30
DEMO = "set a timer for 10 minutes and add dentist tomorrow at 9am to my calendar, then notify me when done"
WEATHER_AND_TIMER = "check the weather in Paris and set a timer for 5 minutes"
GRAPH = "plangate"


def approval_resume(decision: str = "approve", message: str = "rejected") -> Any:
    """The resume value that answers an approval interrupt, in LangChain's HITL shape (what agent-chat-ui sends)."""
    return {"decisions": [{"type": "reject", "message": message} if decision == "reject" else {"type": decision}]}


def user(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def new_user() -> str:
    return f"u-{uuid.uuid4().hex[:8]}"


@dataclass
class Cluster:
    """Two server processes, "A" and "B", on one database and one Redis database."""

    workdir: Path
    database_uri: str
    redis_uri: str
    stub: WeatherStub
    servers: dict[str, Any]

    def client(self, name: str) -> Any:
        return get_client(url=self.servers[name].url)

    def start(self, name: str) -> Any:
        env = {"PLANGATE_HOME": str(self.workdir / "home"), "PLANGATE_NOTIFY": "off", "LOG_JSON": "true",
               "PLANGATE_WEATHER_URL": self.stub.url, "PLANGATE_GEOCODING_URL": self.stub.url}
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("PLANGATE_", "OPENAI_", "LANGSMITH_", "LANGCHAIN_"))}
        self.servers[name] = serve_cluster.start_server(
            port=free_port(), workers=1, database_uri=self.database_uri, redis_uri=self.redis_uri,
            log=self.workdir / f"server-{name}-{int(time.time())}.log", heartbeat_s=HEARTBEAT_S, jobs_per_worker=4,
            env=env, base_env=base, prepare=False)
        return self.servers[name]

    def executing(self, run_id: str, attempt: int = 1) -> str:
        """Which process started attempt `attempt` of the run ("" while none has)."""
        for name, server in self.servers.items():
            if any(r.get("run_id") == run_id and r.get("run_attempt") == attempt
                   for r in log_events(server.log_text(), "Starting background run")):
                return name
        return ""

    def other(self, name: str) -> str:
        return "B" if name == "A" else "A"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    serve = serve_cluster
    serve.install()  # .venv-serve, made once and reused while pyproject.toml and the pins stay the same
    workdir = tmp_path_factory.mktemp("cluster")
    with throwaway_database() as database_uri, free_redis_database() as redis_uri, WeatherStub().serve() as stub:
        serve.migrate(database_uri)
        running = Cluster(workdir, database_uri, redis_uri, stub, {})
        try:
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(running.start, ("A", "B")))
            yield running
        finally:
            for server in running.servers.values():
                server.stop()


@pytest.fixture
def both(cluster: Cluster) -> Cluster:
    """The cluster with both processes up (a test that killed one leaves it to be restarted here)."""
    for name, server in list(cluster.servers.items()):
        if not server.alive():
            cluster.start(name)
    cluster.stub.release()
    return cluster


async def wait_until(check, what: str, timeout_s: float = 30, every_s: float = 0.1) -> Any:
    """Poll `check` (sync or async) until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout_s:.0f}s waiting for {what}"
        await asyncio.sleep(every_s)


async def timers(client, user_id: str) -> list[dict[str, Any]]:
    namespace = ["plangate", "timers", user_id]
    found = await client.store.search_items(namespace, limit=100)
    return [item for item in found["items"] if item["namespace"] == namespace]  # exact: see test_concurrency


async def test_demo_request_streamed_through_a_reads_as_success_through_b(both):
    a, b = both.client("A"), both.client("B")
    thread = await a.threads.create()
    parts = [part async for part in a.runs.stream(thread["thread_id"], GRAPH, input=user(DEMO),
                                                  stream_mode=["updates", "custom"], context={"user_id": new_user()})]
    assert not [p.data for p in parts if p.event == "error"]
    completed = [p.data["step"] for p in parts if p.event == "custom" and p.data.get("event") == "step_completed"]
    assert sorted(completed) == [1, 2, 3]

    state = await b.threads.get_state(thread["thread_id"])
    results = state["values"]["step_results"]
    assert [results[k]["status"] for k in ("1", "2", "3")] == ["completed"] * 3 and state["next"] == []
    assert [r["status"] for r in await b.runs.list(thread["thread_id"])] == ["success"]
    assert (await b.threads.get(thread["thread_id"]))["status"] == "idle"
    assert "10 min" in state["values"]["messages"][-1]["content"]


async def test_approval_raised_on_a_is_resumed_through_b(both):
    a, b = both.client("A"), both.client("B")
    ctx = {"approve_plans": True, "user_id": new_user()}
    thread = await a.threads.create()
    await a.runs.wait(thread["thread_id"], GRAPH, input=user("set a timer for 5 minutes and then list my timers"),
                      context=ctx)
    waiting = await b.threads.get_state(thread["thread_id"])
    assert waiting["next"] == ["approve_plan"] and waiting["tasks"][0]["interrupts"][0]["value"]["action_requests"][0]["name"] == "run_plan"
    assert (await b.threads.get(thread["thread_id"]))["status"] == "interrupted"
    assert await timers(a, ctx["user_id"]) == []  # nothing ran before the approval

    done = await b.runs.wait(thread["thread_id"], GRAPH, command={"resume": approval_resume()}, context=ctx)
    assert [done["step_results"][k]["status"] for k in ("1", "2")] == ["completed", "completed"]
    assert (await a.threads.get(thread["thread_id"]))["status"] == "idle"
    assert len(await timers(a, ctx["user_id"])) == 1
    assert [r["status"] for r in await a.runs.list(thread["thread_id"])] == ["success", "success"]  # paused, then resumed


async def test_run_created_on_b_is_joined_from_a(both):
    a, b = both.client("A"), both.client("B")
    thread = await b.threads.create()
    run = await b.runs.create(thread["thread_id"], GRAPH, input=user(DEMO), context={"user_id": new_user()})
    values = await a.runs.join(thread["thread_id"], run["run_id"])
    assert [values["step_results"][k]["status"] for k in ("1", "2", "3")] == ["completed"] * 3
    assert (await a.runs.get(thread["thread_id"], run["run_id"]))["status"] == "success"


async def test_join_stream_from_the_process_not_running_the_run_yields_its_events(both):
    b = both.client("B")
    thread = await b.threads.create()
    both.stub.hold()
    run = await b.runs.create(thread["thread_id"], GRAPH, input=user(WEATHER_AND_TIMER), context={"user_id": new_user()},
                              stream_mode=["updates", "custom"], stream_resumable=True)
    await wait_until(lambda: both.stub.in_flight() == 1, "the weather step to ask for a forecast")
    runner = both.executing(run["run_id"])
    assert runner, "no process logged the start of the run"
    watcher = both.client(both.other(runner))
    events: list[Any] = []
    async for part in watcher.runs.join_stream(thread["thread_id"], run["run_id"], last_event_id="-"):
        events.append(part)
        if part.event == "custom" and part.data.get("event") == "step_started":
            both.stub.release()  # replayed from the start; what follows arrives live from the other process
    custom = [p.data.get("event") for p in events if p.event == "custom"]
    assert {"route_decided", "plan_created", "step_started", "step_completed"} <= set(custom), custom
    assert custom.count("step_completed") == 2
    assert any(p.event == "updates" and "summarizer" in p.data for p in events)
    assert not [p for p in events if p.event == "error"]
    assert (await watcher.runs.get(thread["thread_id"], run["run_id"]))["status"] == "success"


async def test_one_thread_never_runs_in_two_processes_at_once(both):
    """The runtime claims a run only when no run of its thread is running (SELECT ... FOR UPDATE SKIP LOCKED)."""
    a, b = both.client("A"), both.client("B")
    thread = await a.threads.create()
    both.stub.hold()
    first = await a.runs.create(thread["thread_id"], GRAPH, input=user("check the weather in Paris"),
                                context={"user_id": new_user()})
    await wait_until(lambda: both.stub.count("/forecast", "Paris") == 1, "the Paris forecast")
    with pytest.raises(ConflictError):  # a busy thread refuses a second run, whichever process is asked
        await b.runs.create(thread["thread_id"], GRAPH, input=user("check the weather in Oslo"),
                            multitask_strategy="reject")
    second = await b.runs.create(thread["thread_id"], GRAPH, input=user("check the weather in Oslo"),
                                 multitask_strategy="enqueue")
    assert (await a.runs.get(thread["thread_id"], second["run_id"]))["status"] == "pending"
    both.stub.release()
    for run in (first, second):
        await a.runs.join(thread["thread_id"], run["run_id"])
    paris, oslo = both.stub.of("Paris", "/forecast")[0], both.stub.of("Oslo", "/search")[0]
    assert paris.done is not None and oslo.arrived >= paris.done  # the second run began after the first one's step
    assert [r["status"] for r in await b.runs.list(thread["thread_id"])] == ["success", "success"]

    # The same two requests on two threads do run at once: the check above could have failed.
    both.stub.hold()
    threads = [await a.threads.create(), await b.threads.create()]
    runs = [await client.runs.create(t["thread_id"], GRAPH, input=user(f"check the weather in {place}"))
            for client, t, place in ((a, threads[0], "Rome"), (b, threads[1], "Madrid"))]
    await wait_until(lambda: both.stub.in_flight() == 2, "two forecasts at once")
    both.stub.release()
    for t, run in zip(threads, runs, strict=True):
        await a.runs.join(t["thread_id"], run["run_id"])


async def test_sigkill_mid_step_is_taken_over_by_the_survivor_without_rerunning_finished_steps(both):
    a = both.client("A")
    user_id = new_user()
    thread = await a.threads.create()
    earlier = both.stub.count("/forecast", "Paris")  # other tests asked for Paris too
    both.stub.hold()
    run = await a.runs.create(thread["thread_id"], GRAPH, input=user(WEATHER_AND_TIMER), context={"user_id": user_id})
    await wait_until(lambda: both.stub.in_flight() == 1, "the slow weather step")
    victim = both.executing(run["run_id"])
    assert victim, "no process logged the start of the run"
    survivor_name = both.other(victim)
    survivor = both.client(survivor_name)

    async def timer_step_saved() -> bool:  # what the survivor can read of the finished step before the kill
        state = await survivor.threads.get_state(thread["thread_id"])
        return any(((t.get("result") or {}).get("step_results") or {}).get("2", {}).get("status") == "completed"
                   for t in state["tasks"])

    await wait_until(timer_step_saved, "the timer step's result to be saved")
    assert len(await timers(survivor, user_id)) == 1
    forecasts_before = both.stub.count("/forecast", "Paris") - earlier
    killed_at = time.time()
    both.servers[victim].kill()
    both.stub.release()

    async def finished() -> dict | None:
        got = await survivor.runs.get(thread["thread_id"], run["run_id"])
        return got if got["status"] in ("success", "error", "interrupted", "timeout") else None

    ended = await wait_until(finished, "the survivor to finish the run", timeout_s=KILL_BUDGET_S, every_s=0.25)
    ended_s = time.time() - killed_at
    assert ended["status"] == "success" and ended_s < KILL_BUDGET_S

    restarted = [r for r in log_events(both.servers[survivor_name].log_text(), "Starting background run")
                 if r.get("run_id") == run["run_id"]]
    assert [r["run_attempt"] for r in restarted] == [2]
    takeover_s = timestamp(restarted[0]) - killed_at
    state = await survivor.threads.get_state(thread["thread_id"])
    results = state["values"]["step_results"]
    assert {k: r["status"] for k, r in results.items()} == {"1": "completed", "2": "completed"}
    assert results["2"]["attempts"] == 1
    saved_timers = await timers(survivor, user_id)
    duplicates = len(saved_timers) - 1
    assert duplicates == 0, saved_timers  # the timer step finished before the kill and never ran again
    # the step cut off by the kill ran exactly once more: one forecast before the kill, one after
    assert forecasts_before == 1 and both.stub.count("/forecast", "Paris") - earlier == 2
    assert (await survivor.threads.get(thread["thread_id"]))["status"] == "idle"
    assert [r["status"] for r in await survivor.runs.list(thread["thread_id"])] == ["success"]
    print(f"\ncluster kill: takeover {takeover_s:.1f}s after SIGKILL, run ended {ended_s:.1f}s after it, "
          f"duplicate finished steps {duplicates}")
