"""50 threads at once in one process on one database: no "database is locked", every thread keeps its own state.

On every async backend of the `runner` fixture: InMemorySaver, SQLite through the async saver and store
(`open_async_sqlite`), and real Postgres. Several *processes* on one SQLite file queue on its single writer lock
(see README, Persistence).
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

from plangate import Context
from tests.fixtures.runner import async_only

THREADS = 50


def request(i: int) -> str:
    """Odd threads take the fast path, even ones a two-step plan; each asks for its own duration."""
    minutes = i + 1
    return f"set a timer for {minutes} minutes" if i % 2 else f"set a timer for {minutes} minutes and then list my timers"


@async_only  # one event loop driving 50 ainvoke calls
async def test_fifty_threads_at_once_on_one_database(runner):
    threads = [f"conc-{i}-{uuid.uuid4().hex[:6]}" for i in range(THREADS)]

    async def one(i: int) -> dict:
        cfg = {"configurable": {"thread_id": threads[i]}}
        return await runner.run({"messages": [{"role": "user", "content": request(i)}]}, cfg,
                                context=Context(user_id=f"user-{i}"))

    started = time.perf_counter()
    outcomes = await asyncio.gather(*(one(i) for i in range(THREADS)), return_exceptions=True)
    elapsed = time.perf_counter() - started
    errors = [repr(o) for o in outcomes if isinstance(o, BaseException)]
    assert not [e for e in errors if "locked" in e], errors
    assert errors == []
    for i, out in enumerate(outcomes):
        minutes = i + 1
        answer = out["messages"][-1].content
        assert f"{minutes} min" in answer, (i, answer)
        assert out["route"] == ("fast" if i % 2 else "plan"), (i, out["route"])
        if not i % 2:
            assert out["plan"]["steps"][0]["args"]["duration_s"] == minutes * 60
            assert out["step_results"][2]["status"] == "completed"
            # the user's own timers only: user-2 is a text prefix of user-20..29, all running at once
            assert [t["duration_s"] for t in out["step_results"][2]["output"]["timers"]] == [minutes * 60]
        saved = await runner.state({"configurable": {"thread_id": threads[i]}})
        assert saved.values["messages"][0].content == request(i) and saved.next == ()
        # langgraph-checkpoint-postgres < 3.2 matches a namespace prefix as text ("user-1" also finds "user-10"),
        # so the store is read as plangate reads it, by exact namespace (plangate.tools.runtime.all_values)
        namespace = ("plangate", "timers", f"user-{i}")
        timers = [t for t in await runner.store_search(namespace) if tuple(t.namespace) == namespace]
        assert [t.value["duration_s"] for t in timers] == [minutes * 60]
    print(f"{runner.name}: {THREADS} threads in {elapsed:.2f}s")


WORKER = """
import asyncio, sys, uuid
from plangate import Context, build_graph
from plangate.graph.persistence.savers import open_async_sqlite

async def main(path, worker):
    async with open_async_sqlite(path) as persistence:
        app = build_graph(checkpointer=persistence.checkpointer, store=persistence.store)
        async def one(i):
            cfg = {"configurable": {"thread_id": f"w{worker}-{i}"}}
            text = f"set a timer for {i + 1} minutes and then list my timers"
            out = await app.ainvoke({"messages": [{"role": "user", "content": text}]}, cfg,
                                    context=Context(user_id=f"w{worker}-{i}"))
            assert f"{i + 1} min" in out["messages"][-1].content
        await asyncio.gather(*(one(i) for i in range(10)))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_several_processes_on_one_fresh_sqlite_file(tmp_path):
    """Processes opening a new file at once used to race on the store's migrations; now setup is locked."""
    root = Path(__file__).resolve().parents[2]
    path = str(tmp_path / "shared.sqlite")
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, path, str(w)], cwd=root, stderr=subprocess.PIPE, text=True)
             for w in range(4)]
    errors = [p.communicate(timeout=180)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [e[-500:] for e in errors]
    count = sqlite3.connect(path).execute("SELECT COUNT(DISTINCT thread_id) FROM checkpoints").fetchone()[0]
    assert count == 40
