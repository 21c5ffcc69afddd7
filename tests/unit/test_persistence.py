"""Durable threads on every checkpointer (the `runner` fixture: memory, SQLite and Postgres, each sync and async),
and the SQLite/Postgres openers themselves.

The Postgres cases are integration tests against the real server (a fresh schema per test); they fail with
how to start PostgreSQL when it is down.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from langchain_core.tools import tool

from plangate import Context
from plangate.graph.persistence.durable import DURABILITY, asave_request, save_request
from plangate.graph.persistence.savers import (
    BUSY_TIMEOUT_MS,
    open_async_persistence,
    open_async_sqlite,
    open_persistence,
    open_sqlite,
)
from plangate.graph.persistence.target import default_db_path, redact
from plangate.tools.metadata import describe_tool
from tests import scripted
from tests.helpers import Recorder, config, user
from tests.integration.pg import fresh_schema


class Crash(BaseException):
    """Stands in for the process dying: not an Exception, so no retry or step error handles it."""


PLAN_REQUEST = "set a timer for 5 minutes and then list my timers"


SAVERS = {"memory": ("InMemorySaver", "InMemoryStore"), "memory_aio": ("InMemorySaver", "InMemoryStore"),
          "sqlite": ("SqliteSaver", "ImmediateSqliteStore"), "sqlite_aio": ("AsyncSqliteSaver", "ImmediateAsyncSqliteStore"),
          "postgres": ("PostgresSaver", "PostgresStore"), "postgres_aio": ("AsyncPostgresSaver", "AsyncPostgresStore")}


async def test_the_runner_drives_the_saver_and_call_style_it_names(runner, monkeypatch):
    """The parametrization is real: each case has its own kind of saver and store, written sync or async."""
    saver = runner.persistence.checkpointer
    assert (type(saver).__name__, type(runner.store).__name__) == SAVERS[runner.name]
    used: list[str] = []
    for name in ("put", "aput"):
        original = getattr(saver, name)
        monkeypatch.setattr(saver, name, lambda *a, _name=name, _original=original, **k: used.append(_name) or _original(*a, **k))
    out = await runner.run(user("set a tea timer for 3 minutes"), config())
    assert "3 min" in out["messages"][-1].content
    assert used and ("aput" in used) == runner.is_async  # InMemorySaver.aput calls put: only aput tells them apart


async def test_interrupted_thread_resumes_after_reopening(runner):
    ctx = Context(approve_plans=True, user_id="ana")
    cfg = config()
    first = await runner.run(user(PLAN_REQUEST), cfg, context=ctx)
    assert first["__interrupt__"][0].value["action_requests"][0]["name"] == "run_plan"
    await runner.restart()  # a new process would do just this
    snapshot = await runner.state(cfg)
    assert snapshot.next == ("approve_plan",) and snapshot.values["route"] == "plan"
    done = await runner.resume("approve", cfg, context=ctx)
    assert [done["step_results"][i]["status"] for i in (1, 2)] == ["completed", "completed"]
    assert "5 min" in done["messages"][-1].content
    timers = await runner.store_search(("plangate", "timers", "ana"))
    assert [t.value["duration_s"] for t in timers] == [300]  # the store kept ana's timer


async def test_crash_mid_superstep_keeps_finished_steps(runner):
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
    runner.build(tools=tools, models=models)
    with pytest.raises(Crash):
        await runner.run(user("run the crashy plan"), cfg, context=ctx)
    assert sorted(recorder.names()) == ["crashy", "first"]  # the two steps run concurrently: any order
    await runner.restart()
    pending = await runner.state(cfg)
    assert [t.name for t in pending.tasks] == ["run_step", "run_step", "run_step"]  # step 3 waited in the wave
    assert sum(bool((t.result or {}).get("step_results")) for t in pending.tasks) == 1  # step 1's write was saved
    done = await runner.run(None, cfg, context=ctx)
    assert recorder.names()[2:] == ["crashy", "first"]  # step 1 was not run again
    assert done["step_results"][3]["output"]["message"] == "first: first: a / crashy ok: b"
    assert done["messages"][-1].content == "all done"


async def test_threads_are_isolated_and_history_is_kept(runner):
    a, b = config(), config()
    out_a = await runner.run(user("set a tea timer for 3 minutes"), a, context=Context(user_id="a"))
    out_b = await runner.run(user(PLAN_REQUEST), b, context=Context(user_id="b"))
    again = await runner.run(user("set an egg timer for 7 minutes"), a, context=Context(user_id="a"))
    assert out_a["route"] == "fast" and out_b["route"] == "plan"
    assert "egg" in again["messages"][-1].content and len(again["messages"]) == 4  # the thread's conversation grew
    await runner.restart()
    state_b = await runner.state(b)
    assert state_b.values["route"] == "plan"  # request, the plan's two tool calls and results, the answer
    assert [m.type for m in state_b.values["messages"]] == ["human", "ai", "tool", "tool", "ai"]
    history = await runner.history(a)
    assert [s.metadata["source"] for s in history].count("input") == 2  # two turns, every checkpoint kept
    assert history[-1].next == ("__start__",)


async def test_a_durable_run_saves_the_request_before_any_node_runs(runner):
    """save_request alone leaves a thread that a resume (invoke(None)) completes, in a later process."""
    plain, durable = config(), config()
    await runner.call(save_request, asave_request, runner.graph, user(PLAN_REQUEST), durable)
    await runner.run(user(PLAN_REQUEST), plain)
    await runner.restart()  # the process that saved the request died before the router
    saved = await runner.state(durable)
    assert saved.next == ("__start__",) and saved.metadata["source"] == "input"
    done = await runner.run(None, durable, durability=DURABILITY)
    assert done["messages"][0].content == PLAN_REQUEST and "5 min" in done["messages"][-1].content
    shape = [[(s.metadata["source"], s.next) for s in await runner.history(cfg)] for cfg in (plain, durable)]
    assert shape[0] == shape[1]  # the same checkpoints as a plain invoke(request)


async def test_the_store_outlives_the_connection(runner):
    await runner.run(user("set a tea timer for 3 minutes"), config(), context=Context(user_id="zoe"))
    await runner.restart()
    items = await runner.store_search(("plangate", "timers", "zoe"))
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
