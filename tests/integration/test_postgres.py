"""plangate on the real PostgreSQL: the CLI via PLANGATE_DATABASE_URL, and a thread killed in one process
(SIGKILL, mid-superstep) and finished by another. Each test gets its own schema (tests/integration/pg.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.pg import fresh_schema

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLANGATE_", "OPENAI_"))}
    return {**env, **extra}


def plangate(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "plangate", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_cli_threads_live_in_postgres_when_plangate_database_url_is_set(tmp_path):
    with fresh_schema() as url:
        env = clean_env(PLANGATE_DATABASE_URL=url, PLANGATE_DB=str(tmp_path / "unused.sqlite"))
        first = plangate("--json", "--approve-plans", "set a timer for 5 minutes and then list my timers", env=env)
        assert first.returncode == 0, first.stderr
        thread = json.loads(first.stdout)["thread_id"]
        listed = plangate("threads", "--json", env=env)
        assert [(r["thread_id"], r["status"]) for r in json.loads(listed.stdout)] == [(thread, "waiting")]
        done = plangate("resume", thread, "--approve", "--json", env=env)  # another process finishes it
        assert done.returncode == 0, done.stderr
        assert "5 min" in json.loads(done.stdout)["answer"]
        stats = json.loads(plangate("stats", "--json", env=env).stdout)
        assert stats["outcomes"] == {"done": 1}
        missing = plangate("show", "nope", env=env)
        assert missing.returncode == 1 and "not found in postgresql://postgres@127.0.0.1:5432/test" in missing.stderr
    assert not (tmp_path / "unused.sqlite").exists()


def test_unreachable_postgres_is_one_clear_error(tmp_path):
    env = clean_env(PLANGATE_DATABASE_URL="postgresql://plangate:hunter2@127.0.0.1:1/none?connect_timeout=2")
    done = plangate("threads", env=env)
    assert done.returncode == 1 and "cannot open the thread database postgresql://plangate@127.0.0.1:1/none" in done.stderr
    assert "hunter2" not in done.stderr and "Traceback" not in done.stderr


def wait_for(path: Path, lines: list[str], process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not (path.exists() and all(line in path.read_text().splitlines() for line in lines)):
        assert process.poll() is None, f"worker exited early: {process.stderr.read() if process.stderr else ''}"
        assert time.monotonic() < deadline, f"never saw {lines} in {path}"
        time.sleep(0.1)


def wait_saved(url: str, thread: str, step_id: int, timeout_s: float = 30) -> None:
    """Wait until the thread's latest checkpoint holds step `step_id` as completed (in its pending writes)."""
    from langgraph.checkpoint.postgres import PostgresSaver

    deadline = time.monotonic() + timeout_s
    with PostgresSaver.from_conn_string(url) as saver:
        while True:
            saved = saver.get_tuple({"configurable": {"thread_id": thread}})
            writes = [value for _task, channel, value in (saved.pending_writes if saved else []) if channel == "step_results"]
            writes = [w for w in writes if isinstance(w, dict)]  # not a turn's reset (Overwrite) of an older checkpoint
            if any((w.get(step_id) or w.get(str(step_id)) or {}).get("status") == "completed" for w in writes):
                return
            assert time.monotonic() < deadline, f"step {step_id} was never saved as completed"
            time.sleep(0.05)


def test_thread_killed_mid_superstep_is_finished_by_another_process(tmp_path):
    effects, tag, thread = tmp_path / "effects.log", uuid.uuid4().hex[:6], f"crash-{uuid.uuid4().hex[:8]}"
    env = clean_env(PLANGATE_TEST_SIDE_EFFECTS=str(effects))
    worker = [sys.executable, "-m", "tests.integration.plan_worker"]
    with fresh_schema() as url:
        first = subprocess.Popen([*worker, url, thread, "start", tag], cwd=ROOT, env=env, stderr=subprocess.PIPE,
                                 text=True, start_new_session=True)
        try:
            wait_for(effects, [f"echo first-{tag}", f"slow-start long-{tag}"], first)
            wait_saved(url, thread, step_id=1)  # LangGraph writes a finished step's result in the background
            assert f"slow-end long-{tag}" not in effects.read_text()  # killed while step 2 was still running
        finally:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
        assert first.returncode == -signal.SIGKILL

        second = subprocess.run([*worker, url, thread, "resume"], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=180)
        assert second.returncode == 0, second.stderr[-2000:]
    report = json.loads(second.stdout.strip().splitlines()[-1])
    assert report["pending_before"] == ["run_step", "run_step"]  # the killed step, and step 3 waiting for it
    assert report["statuses"] == {"1": "completed", "2": "completed", "3": "completed"}
    assert report["answer"]
    log = effects.read_text().splitlines()
    assert log.count(f"echo first-{tag}") == 1  # finished before the kill: never run again
    assert log.count(f"slow-start long-{tag}") == 2 and log.count(f"slow-end long-{tag}") == 1
    assert log.count(f"echo after-{tag}") == 1
