"""The `plangate` CLI end to end: real graph, offline rules model, a temporary SQLite file per test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from plangate.graph.cli.main import main
from plangate.graph.graph import build_graph
from plangate.graph.persistence.savers import open_sqlite

ROOT = Path(__file__).resolve().parents[2]
PLAN_REQUEST = "set a timer for 5 minutes and then list my timers"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "threads.sqlite")


@pytest.fixture
def cli(db, capsys):
    """Run `plangate ARGS --db DB` in-process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main([*args, "--db", db])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def as_json(text: str):
    return json.loads(text)


def timers_of(db: str, user: str) -> list[dict]:
    """The user's timers, read straight from the thread database's store."""
    with open_sqlite(db) as persistence:
        return [item.value for item in persistence.store.search(("plangate", "timers", user))]


def test_run_json_fast_path(cli):
    code, out, err = cli("run", "--json", "set a tea timer for 3 minutes")
    data = as_json(out)
    assert code == 0
    assert data["route"] == "fast" and data["interrupts"] == []
    assert "tea" in data["answer"] and "3 min" in data["answer"]
    assert data["step_results"]["1"]["status"] == "completed"


def test_run_text_prints_plan_answer_and_thread(cli):
    code, out, _ = cli(PLAN_REQUEST)  # no command: `run` is the default
    assert code == 0
    assert "timer.set_timer" in out and "timer.list_timers" in out  # the plan tree
    assert "5 min" in out
    assert "thread " in out


def test_threads_show_history_and_stats(cli):
    _, out1, _ = cli("run", "--json", "set a tea timer for 3 minutes")
    _, out2, _ = cli("run", "--json", PLAN_REQUEST)
    fast, plan = as_json(out1)["thread_id"], as_json(out2)["thread_id"]

    code, out, _ = cli("threads", "--json")
    rows = as_json(out)
    assert code == 0 and [r["thread_id"] for r in rows] == [plan, fast]  # newest first
    assert rows[0] == {**rows[0], "status": "done", "route": "plan", "request": PLAN_REQUEST}
    assert rows[1]["route"] == "fast" and rows[1]["created"].startswith("20")

    code, out, _ = cli("show", plan)
    assert code == 0 and f"thread {plan}" in out and "status done" in out and "timer.list_timers" in out
    code, out, _ = cli("show", plan, "--json")
    assert as_json(out)["step_results"]["2"]["status"] == "completed"

    code, out, _ = cli("history", plan, "--json")
    history = as_json(out)
    assert code == 0
    assert history[-1]["source"] == "input" and history[-1]["next"] == ["__start__"]
    nodes = [n for row in history for n in row["next"]]
    assert {"router", "planner", "dispatch", "run_step", "summarizer"} <= set(nodes)
    assert history[0]["next"] == [] and history[0]["parent_checkpoint_id"] == history[1]["checkpoint_id"]
    code, out, _ = cli("history", plan)
    assert history[0]["checkpoint_id"] in out  # full id in the table, usable by `fork`

    code, out, _ = cli("stats", "--json")
    stats = as_json(out)
    assert stats["threads"] == 2 and stats["outcomes"] == {"done": 2} and stats["success_rate"] == 1.0
    assert set(stats["mean_duration_ms"]) == {"fast", "plan"}


def test_approval_resumed_with_approve_keeps_the_threads_settings(cli, db):
    code, out, _ = cli("run", "--json", "--approve-plans", "--user", "alice", PLAN_REQUEST)
    data = as_json(out)
    thread = data["thread_id"]
    assert code == 0 and data["answer"] is None and data["interrupts"][0]["action_requests"][0]["name"] == "run_plan"
    assert not data["step_results"]  # nothing ran yet
    _, out, _ = cli("threads", "--json")
    assert as_json(out)[0]["status"] == "waiting"

    code, _, err = cli("resume", thread)  # no decision given
    assert code == 1 and "waiting for approval" in err and "--approve" in err and "Traceback" not in err

    code, out, _ = cli("resume", thread, "--approve", "--json")
    data = as_json(out)
    assert code == 0 and data["interrupts"] == []
    assert [data["step_results"][k]["status"] for k in ("1", "2")] == ["completed", "completed"]
    assert "5 min" in data["answer"]
    assert len(timers_of(db, "alice")) == 1  # run as alice (saved with the thread), not the default user
    assert timers_of(db, "default") == []


def test_approval_rejected_runs_nothing(cli, db):
    _, out, _ = cli("run", "--json", "--approve-plans", "--user", "bob", PLAN_REQUEST)
    thread = as_json(out)["thread_id"]
    code, out, _ = cli("resume", thread, "--reject", "--reason", "not today", "--json")
    data = as_json(out)
    assert code == 1 and data["error"] == "plan rejected"
    assert data["answer"] == "Plan rejected: not today. Nothing was run."
    assert not data["step_results"]
    assert timers_of(db, "bob") == []
    _, out, _ = cli("threads", "--json")
    assert {r["thread_id"]: r["status"] for r in as_json(out)}[thread] == "rejected"


def test_approval_edited_plan_runs_the_edit(cli, db):
    _, out, _ = cli("run", "--json", "--approve-plans", "--user", "carol", PLAN_REQUEST)
    data = as_json(out)
    plan = data["interrupts"][0]["action_requests"][0]["args"]
    plan["steps"][0]["args"] = {"duration_s": 120, "label": "edited"}
    code, out, _ = cli("resume", data["thread_id"], "--edit", json.dumps(plan), "--json")  # the new plan, as is
    result = as_json(out)
    assert code == 0 and result["step_results"]["1"]["output"]["timer"]["label"] == "edited"
    assert [t["duration_s"] for t in timers_of(db, "carol")] == [120]


def test_bad_edit_json_is_a_clear_error(cli):
    _, out, _ = cli("run", "--json", "--approve-plans", PLAN_REQUEST)
    code, _, err = cli("resume", as_json(out)["thread_id"], "--edit", "{not json")
    assert code == 1 and "--edit is not valid JSON" in err and "Traceback" not in err


def test_resume_continues_a_thread_stopped_mid_plan(cli, db):
    with open_sqlite(db) as persistence:  # stop after the planner, as a crash there would leave it
        app = build_graph(checkpointer=persistence.checkpointer, store=persistence.store)
        config = {"configurable": {"thread_id": "stopped"}}
        app.invoke({"messages": [{"role": "user", "content": PLAN_REQUEST}]}, config, interrupt_before=["dispatch"])
        assert app.get_state(config).next == ("dispatch",)
    _, out, _ = cli("threads", "--json")
    assert as_json(out)[0] == {**as_json(out)[0], "thread_id": "stopped", "status": "interrupted"}
    code, _, err = cli("resume", "stopped", "--approve")
    assert code == 1 and "not waiting for approval" in err
    code, out, _ = cli("resume", "stopped", "--json")
    data = as_json(out)
    assert code == 0 and "5 min" in data["answer"]
    code, out, err = cli("resume", "stopped", "--json")  # finished: shows the answer, runs nothing
    assert code == 0 and "already finished" in err and as_json(out)["answer"] == data["answer"]


def test_fork_re_runs_from_a_checkpoint(cli, db):
    _, out, _ = cli("run", "--json", "--user", "dan", PLAN_REQUEST)
    thread = as_json(out)["thread_id"]
    _, out, _ = cli("history", thread, "--json")
    before = as_json(out)
    planned = next(row for row in before if row["next"] == ["planner"])

    code, out, _ = cli("fork", thread, planned["checkpoint_id"], "--json")
    data = as_json(out)
    assert code == 0 and "5 min" in data["answer"]
    assert len(timers_of(db, "dan")) == 2  # the fork ran the plan again, as dan

    _, out, _ = cli("history", thread, "--json")
    after = as_json(out)
    assert len(after) > len(before)
    by_id = {row["checkpoint_id"]: row for row in after}
    chain, node = [], after[0]["checkpoint_id"]
    while node:
        chain.append(node)
        node = by_id[node]["parent_checkpoint_id"]
    assert planned["checkpoint_id"] in chain and before[0]["checkpoint_id"] not in chain  # a new branch


def test_fork_errors_are_clear(cli):
    _, out, _ = cli("run", "--json", "set a tea timer for 3 minutes")
    thread = as_json(out)["thread_id"]
    _, out, _ = cli("history", thread, "--json")
    last = as_json(out)[0]["checkpoint_id"]
    code, _, err = cli("fork", thread, "1f000000-0000-6000-8000-000000000000")
    assert code == 1 and "is not in thread" in err
    code, _, err = cli("fork", thread, last)
    assert code == 1 and "end of a run" in err
    code, _, err = cli("fork", "missing", last)
    assert code == 1 and "thread 'missing' not found" in err


@pytest.mark.parametrize("command", [["show", "nope"], ["history", "nope"], ["resume", "nope"]])
def test_unknown_thread_is_one_clear_error(cli, db, command):
    code, out, err = cli(*command)
    assert code == 1 and out == ""
    assert f"thread 'nope' not found in {Path(db).resolve()}" in err and "plangate threads" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 2


def test_a_request_that_starts_with_a_command_word_is_run(cli):
    code, out, err = cli("show", "me", "my", "timers")  # more words than `show THREAD` takes: a request
    assert code == 0 and "timer" in out.lower() and "thread " in out and "not found" not in err
    code, out, err = cli("show", "me")  # exactly `show THREAD`: the hint says how to send it as a request
    assert code == 1 and "plangate run" in err


def test_empty_database_and_global_options_before_the_command(db, capsys):
    assert main(["--db", db, "threads"]) == 0
    assert "no threads yet" in capsys.readouterr().out
    assert main(["--json", "--db", db, "stats"]) == 0
    assert as_json(capsys.readouterr().out)["threads"] == 0


def test_unusable_database_path_is_a_clear_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["threads", "--db", str(blocker / "threads.sqlite")])
    err = capsys.readouterr().err
    assert code == 1 and "cannot open the thread database" in err and "Traceback" not in err


def _plangate(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PLANGATE_", "OPENAI_"))}
    return subprocess.run([sys.executable, "-m", "plangate", *args], cwd=ROOT, env={**environment, **(env or {})},
                          capture_output=True, text=True, timeout=120)


def test_console_script_in_a_subprocess(db):
    done = _plangate("--json", "set a tea timer for 3 minutes", env={"PLANGATE_DB": db})
    assert done.returncode == 0, done.stderr
    thread = as_json(done.stdout)["thread_id"]
    listed = _plangate("threads", "--json", env={"PLANGATE_DB": db})  # PLANGATE_DB is the default --db
    assert [r["thread_id"] for r in as_json(listed.stdout)] == [thread]


@pytest.mark.parametrize("name, value", [("PLANGATE_FAST_THRESHOLD", "abc"), ("PLANGATE_ROUTER_MODE", "magic")])
def test_bad_environment_is_one_clear_error(db, name, value):
    done = _plangate("set a tea timer for 3 minutes", "--db", db, env={name: value})
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr and len(lines) == 2
    assert lines[0].startswith("plangate: error: Context.") and repr(value) in lines[0] or value in lines[0]
    assert lines[1].startswith("hint:")
