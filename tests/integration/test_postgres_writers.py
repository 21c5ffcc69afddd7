"""One writer per thread on PostgreSQL (issue 13, row 6): the advisory lock, across pools and processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from plangate.graph.persistence.durable import ainvoke_durably, invoke_durably
from plangate.graph.persistence.postgres import open_async_postgres, open_postgres
from plangate.graph.persistence.thread_lock import ThreadBusy, thread_lock
from tests.helpers import config, user
from tests.integration.pg import fresh_schema
from tests.reliability.test_one_writer import _slow_graph

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
HOLD = """
import sys, time
from plangate.graph.persistence.postgres import open_postgres
from plangate.graph.persistence.thread_lock import thread_lock
with open_postgres(sys.argv[1]) as p, thread_lock(p.checkpointer, {"configurable": {"thread_id": "held"}}):
    print("locked", flush=True)
    time.sleep(600)
"""


def _linear(history) -> bool:
    parents = Counter(s.parent_config["configurable"]["checkpoint_id"] for s in history if s.parent_config)
    return max(parents.values()) == 1


def test_two_pools_on_one_thread_take_turns():
    with fresh_schema() as url, open_postgres(url) as one, open_postgres(url) as two:
        apps = [_slow_graph(p.checkpointer, p.store) for p in (one, two)]
        cfg = config("pg-shared")
        calls = [threading.Thread(target=invoke_durably, args=(app, user(f"turn {i}"), cfg)) for i, app in enumerate(apps)]
        for call in calls:
            call.start()
        for call in calls:
            call.join()
        assert _linear(list(apps[0].get_state_history(cfg)))
        humans = [m.content for m in apps[0].get_state(cfg).values["messages"] if isinstance(m, HumanMessage)]
        assert sorted(humans) == ["turn 0", "turn 1"]


def test_async_pools_take_turns():
    async def main(url: str) -> None:
        async with open_async_postgres(url) as one, open_async_postgres(url) as two:
            apps = [_slow_graph(p.checkpointer, p.store) for p in (one, two)]
            cfg = config("pg-async")
            await asyncio.gather(*(ainvoke_durably(app, user(f"turn {i}"), cfg) for i, app in enumerate(apps)))
            history = [s async for s in apps[1].aget_state_history(cfg)]
            assert _linear(history)

    with fresh_schema() as url:
        asyncio.run(main(url))


def test_a_killed_holder_frees_the_thread_and_a_waiter_is_bounded(monkeypatch):
    monkeypatch.setenv("PLANGATE_THREAD_LOCK_WAIT_S", "1")
    with fresh_schema() as url:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        holder = subprocess.Popen([sys.executable, "-c", HOLD, url], env=env, stdout=subprocess.PIPE, text=True,
                                  start_new_session=True)
        try:
            assert holder.stdout.readline().strip() == "locked"
            with open_postgres(url) as persistence:
                with pytest.raises(ThreadBusy, match="thread 'held' is busy"):
                    with thread_lock(persistence.checkpointer, config("held")):
                        pass
                os.kill(holder.pid, signal.SIGKILL)
                holder.wait(timeout=30)
                monkeypatch.setenv("PLANGATE_THREAD_LOCK_WAIT_S", "20")  # Postgres ends the dead session
                started = time.monotonic()
                with thread_lock(persistence.checkpointer, config("held")):
                    pass
                assert time.monotonic() - started < 20
        finally:
            if holder.poll() is None:
                holder.kill()
