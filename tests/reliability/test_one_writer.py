"""One writer per thread (issue 13, row 6): two processes, or two calls in one process, on one thread take turns.

Before the lock, both ran from the same checkpoint: the thread forked, a turn was lost, and two concurrent
`resume --approve` set the timer twice. Now the second writer waits for the first (bounded), or fails with one
line naming the thread; a killed holder's lock goes with it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
from collections import Counter
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from plangate.graph.persistence.durable import ainvoke_durably, invoke_durably
from plangate.graph.persistence.savers import open_async_sqlite, open_sqlite
from plangate.graph.persistence.thread_lock import ThreadBusy, thread_lock
from plangate.tools.runtime import user_label
from tests import scripted
from tests.helpers import Recorder, config, make_graph, user
from tests.reliability.crashkit import PLANGATE, CrashRun, _env

SLOW_PLAN = [{"id": 1, "tool": "test.slow", "args": {"seconds": 0.4}}, {"id": 2, "tool": "test.echo", "args": {"text": "x"}}]


@pytest.mark.parametrize("aio", [False, True], ids=["sync", "async"])
def test_two_processes_on_one_thread_take_turns_without_forking(tmp_path, aio):
    crash = CrashRun(tmp_path, scenario="full", thread="shared thread", aio=aio)
    first = crash.spawn("run", latency=0.5, seed=1)  # slow enough that the second starts while it runs
    crash.wait_started(first)
    second = crash.spawn("run", latency=0.05, seed=2)
    crash.finish(first), crash.finish(second)
    (a_pid, _a_start, a_end), (b_pid, b_start, _b_end) = crash.starts()
    assert {a_pid, b_pid} == {first.pid, second.pid} and b_start >= a_end  # the second waited for the first
    assert crash.forks() == []
    assert all(n == 1 for n in Counter(crash.effects()).values())  # no process ran a step twice
    with open_sqlite(str(crash.db)) as persistence:
        values = persistence.checkpointer.get_tuple(config(crash.thread))
    messages = values.checkpoint["channel_values"]["messages"]
    humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    answers = [i for i, m in enumerate(messages) if isinstance(m, AIMessage) and not m.tool_calls]
    assert len(humans) == 2 and len(answers) == 2 and humans[0] < answers[0] < humans[1] < answers[1]  # both turns


def test_a_writer_that_cannot_wait_fails_naming_the_thread_and_a_killed_holder_frees_it(tmp_path):
    crash = CrashRun(tmp_path, scenario="full", thread="t\x1b[31mred")
    holder = crash.spawn("run", pause="tool:s1:before")
    crash.wait_paused(holder)
    waiter = crash.spawn("run", env={"PLANGATE_THREAD_LOCK_WAIT_S": "1"})
    _out, err = waiter.communicate(timeout=60)
    assert waiter.returncode != 0
    assert "ThreadBusy: thread 't\\x1b[31mred' is busy" in err  # named, and escaped
    assert crash.kill(holder, "paused at s1")
    final = crash.resume()  # the killed holder's flock went with it: no stale lock
    final["statuses"] = final["statuses"]
    crash.check(final)
    assert crash.forks() == []


def _cli(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([str(PLANGATE), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_cli_resume_approve_at_once_set_the_timer_once(tmp_path):
    env = {**_env(tmp_path), "PLANGATE_DB": str(tmp_path / "threads.sqlite"), "PLANGATE_PLAN_LIBRARY": "0"}
    for round_ in range(3):
        thread = f"approve-{round_}"
        started = subprocess.run([str(PLANGATE), "--thread", thread, "--approve-plans", "--json",
                                  f"set a round{round_} timer for 3 minutes and then list my timers"], env=env,
                                 capture_output=True, text=True)
        assert started.returncode == 0 and json.loads(started.stdout)["interrupts"], started.stderr
        both = [_cli("resume", thread, "--approve", "--json", env=env) for _ in range(2)]
        outputs = [proc.communicate(timeout=120) for proc in both]
        assert [proc.returncode for proc in both] == [0, 0], outputs
        assert sum("already finished" in err for _out, err in outputs) == 1
    with open_sqlite(str(tmp_path / "threads.sqlite")) as persistence:
        labels = [i.value["label"] for i in persistence.store.search(("plangate", "timers", user_label("default")), limit=100)]
    assert Counter(labels) == Counter({"round0": 1, "round1": 1, "round2": 1})


def _slow_graph(checkpointer, store):
    models = {"weak": scripted.ScriptedChatModel(default=scripted.route("plan", "test", 0.99)),
              "strong": scripted.ScriptedChatModel(default=scripted.plan(SLOW_PLAN)),
              "default": scripted.ScriptedChatModel(default="done")}
    return make_graph(models=models, tools={"test": Recorder().tools}, checkpointer=checkpointer, store=store)


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_two_calls_in_one_process_take_turns(tmp_path, backend):
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.store.memory import InMemoryStore

    def check(app):
        cfg = config("one")
        calls = [threading.Thread(target=invoke_durably, args=(app, user(f"turn {i}"), cfg)) for i in range(2)]
        for call in calls:
            call.start()
        for call in calls:
            call.join()
        history = list(app.get_state_history(cfg))
        parents = Counter(s.parent_config["configurable"]["checkpoint_id"] for s in history if s.parent_config)
        assert max(parents.values()) == 1  # linear: no fork
        humans = [m.content for m in app.get_state(cfg).values["messages"] if isinstance(m, HumanMessage)]
        assert sorted(humans) == ["turn 0", "turn 1"]

    if backend == "memory":
        check(_slow_graph(InMemorySaver(), InMemoryStore()))
    else:
        with open_sqlite(str(tmp_path / "threads.sqlite")) as persistence:
            check(_slow_graph(persistence.checkpointer, persistence.store))


async def test_two_async_calls_take_turns(tmp_path):
    async with open_async_sqlite(str(tmp_path / "threads.sqlite")) as persistence:
        app = _slow_graph(persistence.checkpointer, persistence.store)
        cfg = config("one")
        await asyncio.gather(*(ainvoke_durably(app, user(f"turn {i}"), cfg) for i in range(2)))
        history = [s async for s in app.aget_state_history(cfg)]
        parents = Counter(s.parent_config["configurable"]["checkpoint_id"] for s in history if s.parent_config)
        assert max(parents.values()) == 1
        humans = [m.content for m in (await app.aget_state(cfg)).values["messages"] if isinstance(m, HumanMessage)]
        assert sorted(humans) == ["turn 0", "turn 1"]


def test_the_wait_is_bounded_and_names_the_thread(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANGATE_THREAD_LOCK_WAIT_S", "0.2")
    with open_sqlite(str(tmp_path / "threads.sqlite")) as persistence:
        cfg = config("busy one")
        def enter(thread_config: dict) -> None:
            with thread_lock(persistence.checkpointer, thread_config):
                pass

        with thread_lock(persistence.checkpointer, cfg):
            errors: list[BaseException] = []
            other = threading.Thread(target=lambda: _catch(errors, lambda: enter(cfg)))  # another caller
            other.start()
            other.join()
            assert len(errors) == 1 and isinstance(errors[0], ThreadBusy)
            assert "thread 'busy one' is busy" in str(errors[0])
            enter(config("another"))  # other threads are free
        with thread_lock(persistence.checkpointer, cfg):  # released
            pass
    for bad in ("inf", "nan", "-1", "soon"):
        monkeypatch.setenv("PLANGATE_THREAD_LOCK_WAIT_S", bad)
        with pytest.raises(ValueError, match="PLANGATE_THREAD_LOCK_WAIT_S"):
            with thread_lock(None, cfg), thread_lock(object(), cfg):
                pass


def test_lock_files_do_not_pile_up(tmp_path):
    import tempfile

    before = set(Path(tempfile.gettempdir()).glob("plangate-thread-*.lock"))
    with open_sqlite(str(tmp_path / "threads.sqlite")) as persistence:
        for i in range(5):
            with thread_lock(persistence.checkpointer, config(f"t{i}")):
                pass
    assert set(Path(tempfile.gettempdir()).glob("plangate-thread-*.lock")) <= before
    assert os.path.exists(tmp_path / "threads.sqlite")


def test_the_lock_is_reentrant_for_its_holder_only(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANGATE_THREAD_LOCK_WAIT_S", "0.3")
    with open_sqlite(str(tmp_path / "threads.sqlite")) as persistence:
        app = _slow_graph(persistence.checkpointer, persistence.store)
        cfg = config("mine")
        with thread_lock(app.checkpointer, cfg):  # an app holding the thread around its own calls
            assert invoke_durably(app, user("turn 0"), cfg)["error"] is None  # runs, does not wait for itself
            other: list[BaseException] = []
            waiter = threading.Thread(target=lambda: _catch(other, lambda: invoke_durably(app, user("x"), cfg)))
            waiter.start()
            waiter.join()
            assert [type(e) for e in other] == [ThreadBusy]  # another OS thread still waits, then gives up


def _catch(errors: list[BaseException], call) -> None:
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 (collected for the assertion)
        errors.append(exc)


async def test_the_async_lock_is_reentrant_per_task(tmp_path, monkeypatch):
    from plangate.graph.persistence.thread_lock import athread_lock

    monkeypatch.setenv("PLANGATE_THREAD_LOCK_WAIT_S", "0.3")
    async with open_async_sqlite(str(tmp_path / "threads.sqlite")) as persistence:
        app = _slow_graph(persistence.checkpointer, persistence.store)
        cfg = config("mine")
        async with athread_lock(app.checkpointer, cfg):
            assert (await ainvoke_durably(app, user("turn 0"), cfg))["error"] is None
            with pytest.raises(ThreadBusy):
                await asyncio.create_task(ainvoke_durably(app, user("x"), cfg))  # another task waits
