"""Durable threads on every checkpointer: InMemorySaver, SqliteSaver, AsyncSqliteSaver and Postgres (sync + async).

The Postgres cases are integration tests against the real server (a fresh schema per test); they fail with
how to start PostgreSQL when it is down.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from plangate import Context, build_graph
from plangate.graph.persistence.durable import DURABILITY, asave_request, save_request
from plangate.graph.persistence.savers import (
    BUSY_TIMEOUT_MS,
    Persistence,
    default_db_path,
    open_async_persistence,
    open_async_postgres,
    open_async_sqlite,
    open_persistence,
    open_postgres,
    open_sqlite,
    redact,
)
from plangate.tools.metadata import describe_tool
from tests import scripted
from tests.helpers import Recorder, config, user
from tests.integration.pg import fresh_schema


class Crash(BaseException):
    """Stands in for the process dying: not an Exception, so no retry or step error handles it."""


class Backend:
    """Opens the same database again and again, sync or async, like separate runs of a program."""

    def __init__(self, name: str, target: str) -> None:
        self.name, self.target = name, target
        self.is_async = name.startswith("async")
        self.memory = (InMemorySaver(), InMemoryStore()) if name == "memory" else None

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Persistence]:
        if self.memory:
            yield Persistence(*self.memory, "memory", kind="memory")
        elif self.name == "sqlite":
            with open_sqlite(self.target) as persistence:
                yield persistence
        elif self.name == "async_sqlite":
            async with open_async_sqlite(self.target) as persistence:
                yield persistence
        elif self.name == "postgres":
            with open_postgres(self.target) as persistence:
                yield persistence
        else:
            async with open_async_postgres(self.target) as persistence:
                yield persistence

    async def invoke(self, app: Any, payload: Any, cfg: dict, **kwargs: Any) -> dict:
        if self.is_async:
            return await app.ainvoke(payload, cfg, **kwargs)
        return await asyncio.to_thread(app.invoke, payload, cfg, **kwargs)

    async def state(self, app: Any, cfg: dict) -> Any:
        return await app.aget_state(cfg) if self.is_async else await asyncio.to_thread(app.get_state, cfg)

    async def history(self, app: Any, cfg: dict) -> list[Any]:
        if self.is_async:
            return [s async for s in app.aget_state_history(cfg)]
        return await asyncio.to_thread(lambda: list(app.get_state_history(cfg)))


BACKENDS = [
    "memory",
    "sqlite",
    "async_sqlite",
    pytest.param("postgres", marks=pytest.mark.integration),
    pytest.param("async_postgres", marks=pytest.mark.integration),
]


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path: Path):
    if "postgres" in request.param:
        with fresh_schema() as url:
            yield Backend(request.param, url)
    else:
        yield Backend(request.param, str(tmp_path / "threads.sqlite"))


PLAN_REQUEST = "set a timer for 5 minutes and then list my timers"


async def test_interrupted_thread_resumes_after_reopening(backend):
    ctx = Context(approve_plans=True, user_id="ana")
    cfg = config()
    async with backend.open() as persistence:
        app = build_graph(checkpointer=persistence.checkpointer, store=persistence.store)
        first = await backend.invoke(app, user(PLAN_REQUEST), cfg, context=ctx)
        assert first["__interrupt__"][0].value["type"] == "approve_plan"
    async with backend.open() as persistence:  # a new process would do just this
        app = build_graph(checkpointer=persistence.checkpointer, store=persistence.store)
        snapshot = await backend.state(app, cfg)
        assert snapshot.next == ("approve_plan",) and snapshot.values["route"] == "plan"
        from langgraph.types import Command

        done = await backend.invoke(app, Command(resume="approve"), cfg, context=ctx)
        assert [done["step_results"][i]["status"] for i in (1, 2)] == ["completed", "completed"]
        assert "5 min" in done["messages"][-1].content
        store = persistence.store
        timers = await store.asearch(("plangate", "timers", "ana")) if backend.is_async else store.search(("plangate", "timers", "ana"))
        assert [t.value["duration_s"] for t in timers] == [300]  # the store kept ana's timer


async def test_crash_mid_superstep_keeps_finished_steps(backend):
    """Step 1 finishes, step 2 'kills the process' in the same superstep: resuming runs only step 2."""
    recorder = Recorder()
    crashes = {"left": 1}
    gate = threading.Event()

    @tool("crashy")
    def crashy(text: str) -> dict:
        """Crash once, after the other step of the wave has finished."""
        recorder.calls.append(("crashy", {"text": text}))
        gate.wait(5)
        if crashes["left"]:
            crashes["left"] -= 1
            raise Crash("process died")
        return {"message": f"crashy ok: {text}"}

    @tool("first")
    def first(text: str) -> dict:
        """Finish quickly."""
        recorder.calls.append(("first", {"text": text}))
        gate.set()
        return {"message": f"first: {text}"}

    tools = {"test": [describe_tool(first, keywords=["first"]), describe_tool(crashy, keywords=["crashy"])]}
    steps = [{"id": 1, "tool": "test.first", "args": {"text": "a"}},
             {"id": 2, "tool": "test.crashy", "args": {"text": "b"}},
             {"id": 3, "tool": "test.first", "args": {"text": "{{step_1.message}} / {{step_2.message}}"}, "depends_on": [1, 2]}]
    models = {"weak": scripted.ScriptedChatModel(default=scripted.route("plan", "test", 0.99)),
              "strong": scripted.ScriptedChatModel(replies=[scripted.plan(steps)]),
              "default": scripted.ScriptedChatModel(default="all done")}
    ctx, cfg = Context(router_mode="llm", step_retries=0), config()
    async with backend.open() as persistence:
        app = build_graph(checkpointer=persistence.checkpointer, store=persistence.store, tools=tools, models=models)
        with pytest.raises(Crash):
            await backend.invoke(app, user("run the crashy plan"), cfg, context=ctx)
        assert sorted(recorder.names()) == ["crashy", "first"]  # the two steps run concurrently: any order
    async with backend.open() as persistence:
        app = build_graph(checkpointer=persistence.checkpointer, store=persistence.store, tools=tools, models=models)
        pending = await backend.state(app, cfg)
        assert [t.name for t in pending.tasks] == ["run_step", "run_step"]
        assert sum(t.result is not None for t in pending.tasks) == 1  # step 1's write was saved
        done = await backend.invoke(app, None, cfg, context=ctx)
    assert recorder.names()[2:] == ["crashy", "first"]  # step 1 was not run again
    assert done["step_results"][3]["output"]["message"] == "first: first: a / crashy ok: b"
    assert done["messages"][-1].content == "all done"


async def test_threads_are_isolated_and_history_is_kept(backend):
    async with backend.open() as persistence:
        app = build_graph(checkpointer=persistence.checkpointer, store=persistence.store)
        a, b = config(), config()
        out_a = await backend.invoke(app, user("set a tea timer for 3 minutes"), a, context=Context(user_id="a"))
        out_b = await backend.invoke(app, user(PLAN_REQUEST), b, context=Context(user_id="b"))
        again = await backend.invoke(app, user("set an egg timer for 7 minutes"), a, context=Context(user_id="a"))
    assert out_a["route"] == "fast" and out_b["route"] == "plan"
    assert "egg" in again["messages"][-1].content and len(again["messages"]) == 4  # the thread's conversation grew
    async with backend.open() as persistence:
        app = build_graph(checkpointer=persistence.checkpointer, store=persistence.store)
        state_b = await backend.state(app, b)
        assert state_b.values["route"] == "plan" and len(state_b.values["messages"]) == 2
        history = await backend.history(app, a)
        assert [s.metadata["source"] for s in history].count("input") == 2  # two turns, every checkpoint kept
        assert history[-1].next == ("__start__",)


async def test_a_durable_run_saves_the_request_before_any_node_runs(backend):
    """save_request alone leaves a thread that a resume (invoke(None)) completes, in a later process."""
    plain, durable = config(), config()
    async with backend.open() as persistence:
        app = build_graph(checkpointer=persistence.checkpointer, store=persistence.store)
        if backend.is_async:
            await asave_request(app, user(PLAN_REQUEST), durable)
        else:
            await asyncio.to_thread(save_request, app, user(PLAN_REQUEST), durable)
        await backend.invoke(app, user(PLAN_REQUEST), plain)
    async with backend.open() as persistence:  # the process that saved the request died before the router
        app = build_graph(checkpointer=persistence.checkpointer, store=persistence.store)
        saved = await backend.state(app, durable)
        assert saved.next == ("__start__",) and saved.metadata["source"] == "input"
        done = await backend.invoke(app, None, durable, durability=DURABILITY)
        assert done["messages"][0].content == PLAN_REQUEST and "5 min" in done["messages"][-1].content
        shape = [[(s.metadata["source"], s.next) for s in await backend.history(app, cfg)] for cfg in (plain, durable)]
        assert shape[0] == shape[1]  # the same checkpoints as a plain invoke(request)


async def test_the_store_outlives_the_connection(backend):
    async with backend.open() as persistence:
        app = build_graph(checkpointer=persistence.checkpointer, store=persistence.store)
        await backend.invoke(app, user("set a tea timer for 3 minutes"), config(), context=Context(user_id="zoe"))
    async with backend.open() as persistence:
        store = persistence.store
        items = await store.asearch(("plangate", "timers", "zoe")) if backend.is_async else store.search(("plangate", "timers", "zoe"))
        assert [item.value["label"] for item in items] == ["tea"]


def test_sqlite_file_uses_wal_and_a_busy_timeout(tmp_path):
    path = tmp_path / "deep" / "er" / "threads.sqlite"  # folders are created
    with open_sqlite(str(path)) as persistence:
        conn = persistence.checkpointer.conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS
        assert persistence.store.conn.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # a property of the file


def test_one_checkpointer_and_one_store_connection_per_file_per_process(tmp_path):
    path = str(tmp_path / "threads.sqlite")
    with open_sqlite(path) as one, open_sqlite(str(tmp_path / "." / "threads.sqlite")) as two:
        assert one is two and one.checkpointer.conn is not one.store.conn
        with open_sqlite(str(tmp_path / "other.sqlite")) as other:
            assert other is not one
    with pytest.raises(sqlite3.ProgrammingError):  # closed once the last user left
        one.checkpointer.conn.execute("SELECT 1")
    with open_sqlite(path) as three:
        assert three is not one


async def test_async_sqlite_is_shared_on_one_event_loop(tmp_path):
    path = str(tmp_path / "threads.sqlite")
    async with open_async_sqlite(path) as one, open_async_sqlite(path) as two:
        assert one is two
        async with one.checkpointer.conn.execute("PRAGMA busy_timeout") as cur:
            assert (await cur.fetchone())[0] == BUSY_TIMEOUT_MS
        async with one.checkpointer.conn.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone())[0] == "wal"
    async with open_async_sqlite(path) as three:
        assert three is not one


def test_plangate_db_sets_the_default_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANGATE_DB", str(tmp_path / "env.sqlite"))
    assert default_db_path() == str(tmp_path / "env.sqlite")
    with open_persistence() as persistence:
        assert persistence.where == f"sqlite:{tmp_path / 'env.sqlite'}"
    monkeypatch.delenv("PLANGATE_DB")
    assert default_db_path() == str(Path.home() / ".plangate" / "threads.sqlite")


def test_redact_never_shows_a_password():
    assert redact("postgresql://app:s3cret@db.internal:5432/plangate?sslmode=require") == \
        "postgresql://app@db.internal:5432/plangate"
    assert redact("/tmp/x.sqlite") == "/tmp/x.sqlite"


@pytest.mark.integration
async def test_plangate_database_url_switches_to_postgres(monkeypatch, tmp_path):
    monkeypatch.setenv("PLANGATE_DB", str(tmp_path / "unused.sqlite"))
    with fresh_schema() as url:
        monkeypatch.setenv("PLANGATE_DATABASE_URL", url)
        with open_persistence() as persistence:
            assert persistence.kind == "postgres" and type(persistence.checkpointer).__name__ == "PostgresSaver"
            assert "password" not in persistence.where
        async with open_async_persistence() as persistence:
            assert type(persistence.checkpointer).__name__ == "AsyncPostgresSaver"
        with open_persistence(str(tmp_path / "explicit.sqlite")) as persistence:  # an explicit path still wins
            assert persistence.kind == "sqlite"
    assert not (tmp_path / "unused.sqlite").exists()
