"""Run, kill, inspect and resume `crash_driver` processes, and check the exactly-once invariants."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PLANGATE = Path(sys.executable).with_name("plangate")


def _env(home: Path) -> dict[str, str]:
    """The parent environment without endpoint settings or keys, so every process uses the same models."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLANGATE_", "OPENAI_"))}
    env.update(PYTHONPATH=str(ROOT), PLANGATE_HOME=str(home))
    return env


def persisted_completed(db: Path, thread: str, scenario: str) -> set[str]:
    """Keys of the thread's steps whose `completed` result is saved (latest checkpoint or its pending writes)."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    if not Path(db).exists():
        return set()
    conn = sqlite3.connect(db, check_same_thread=False)
    try:
        saved = SqliteSaver(conn).get_tuple({"configurable": {"thread_id": thread}})
    except sqlite3.OperationalError:  # killed before the tables were made
        return set()
    finally:
        conn.close()
    if saved is None:
        return set()
    values = saved.checkpoint["channel_values"]
    results = {int(k): v for k, v in (values.get("step_results") or {}).items()}
    plan = values.get("plan")
    for _task, channel, value in saved.pending_writes or []:
        if channel == "step_results":
            results.update({int(k): v for k, v in value.items()})
        if channel == "plan" and value:
            plan = value
    done = {i for i, r in results.items() if r.get("status") == "completed"}
    return {step_key(scenario, plan, i) for i in done}


def step_key(scenario: str, plan: dict[str, Any] | None, step_id: int) -> str:
    """The side-effect log key of a step: its `key`/`label` arg, else its tool's name ("fast" on the fast path)."""
    if scenario == "fast" or not plan:
        return "fast"
    step = next(s for s in plan["steps"] if s["id"] == step_id)
    return str(step["args"].get("key") or step["args"].get("label") or step["tool"].split(".")[1])


@dataclass
class CrashRun:
    """One thread driven through kills and resumes; records every process and what was saved at each kill."""

    tmp: Path
    scenario: str = "full"
    thread: str = "crash-thread"
    aio: bool = False  # drive the graph with ainvoke and AsyncSqliteSaver
    pids: list[int] = field(default_factory=list)
    kills: list[dict[str, Any]] = field(default_factory=list)  # {"pid", "persisted", "point"}

    @property
    def db(self) -> Path:
        return self.tmp / "threads.sqlite"

    @property
    def log(self) -> Path:
        return self.tmp / "effects.log"

    @property
    def marker(self) -> Path:
        return Path(f"{self.log}.paused")

    # processes ---------------------------------------------------------------------------
    def spawn(self, command: str, *, pause: str | None = None, latency: float = 0.0, seed: int = 0,
              env: dict[str, str] | None = None) -> subprocess.Popen:
        self.marker.unlink(missing_ok=True)
        args = [sys.executable, "-m", "tests.reliability.crash_driver", command, "--db", str(self.db), "--log", str(self.log),
                "--thread", self.thread, "--scenario", self.scenario, "--latency", str(latency), "--seed", str(seed)]
        if pause:
            args += ["--pause", pause]
        if self.aio:
            args.append("--aio")
        proc = subprocess.Popen(args, cwd=self.tmp, env={**_env(self.tmp / 'home'), **(env or {})}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        self.pids.append(proc.pid)
        return proc

    def wait_paused(self, proc: subprocess.Popen, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.marker.exists():
                return self.marker.read_text(encoding="utf-8")
            if proc.poll() is not None:
                raise AssertionError(f"driver exited ({proc.returncode}) before its pause point: {proc.stderr.read()[-2000:]}")
            time.sleep(0.01)
        proc.kill()
        raise AssertionError("driver never reached its pause point")

    def kill(self, proc: subprocess.Popen, point: str) -> bool:
        """SIGKILL `proc` (if it is still running) and record what the database holds. False if it had ended."""
        if proc.poll() is not None:
            return False
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        reached = [r[2] for r in self._rows() if r[0] == "reach" and int(r[4]) == proc.pid]
        self.kills.append({"pid": proc.pid, "persisted": self.persisted_completed(), "point": point,
                           "last_point": reached[-1] if reached else "startup",
                           "integrity": self.integrity() if self.db.exists() else "ok"})
        return True

    def wait_started(self, proc: subprocess.Popen, timeout: float = 60.0) -> None:
        """Wait until `proc` has built its graph and started invoking it (its `start` log line)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if any(r[0] == "start" and int(r[4]) == proc.pid for r in self._rows()):
                return
            time.sleep(0.01)

    def _rows(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [line.split("\t") for line in self.log.read_text(encoding="utf-8").splitlines()]

    def finish(self, proc: subprocess.Popen) -> dict[str, Any]:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"driver failed ({proc.returncode}): {err[-3000:]}"
        return json.loads(out.strip().splitlines()[-1])

    def resume(self) -> dict[str, Any]:
        return self.finish(self.spawn("resume"))

    def resume_cli(self) -> dict[str, Any]:
        done = subprocess.run([str(PLANGATE), "resume", self.thread, "--db", str(self.db), "--json"], cwd=self.tmp,
                              env=_env(self.tmp / 'home'), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"plangate resume failed ({done.returncode}): {done.stderr[-3000:]}"
        data = json.loads(done.stdout)
        data["statuses"] = {k: v["status"] for k, v in (data.get("step_results") or {}).items()}
        return data

    # inspection --------------------------------------------------------------------------
    def integrity(self) -> str:
        with sqlite3.connect(self.db) as conn:
            return conn.execute("PRAGMA integrity_check").fetchone()[0]

    def persisted_completed(self) -> set[str]:
        """Keys of steps whose `completed` result is saved (in the latest checkpoint or its pending writes)."""
        return persisted_completed(self.db, self.thread, self.scenario)

    def starts(self) -> list[tuple[int, float, float]]:
        """(pid, start time, finish time) of each driver that got the thread, in start order (finish inf if none)."""
        rows = self._rows()
        finish = {int(r[4]): float(r[5]) for r in rows if r[0] == "finish"}
        return [(int(r[4]), float(r[5]), finish.get(int(r[4]), float("inf"))) for r in rows if r[0] == "start"]

    def forks(self) -> list[str]:
        """Checkpoints of the thread that are the parent of more than one checkpoint (a forked thread)."""
        with sqlite3.connect(self.db) as conn:
            rows = conn.execute("SELECT parent_checkpoint_id, COUNT(*) FROM checkpoints WHERE thread_id = ? AND "
                                "checkpoint_ns = '' AND parent_checkpoint_id IS NOT NULL GROUP BY parent_checkpoint_id "
                                "HAVING COUNT(*) > 1", (self.thread,)).fetchall()
        return [row[0] for row in rows]

    def effects(self) -> list[tuple[str, int]]:
        """(key, pid) of every logged side effect of this thread."""
        return [(r[2], int(r[4])) for r in self._rows() if r[0] == "effect" and r[1] == self.thread]

    def timers(self) -> Counter:
        """Timer labels in the store (the real side effect of the builtin scenario)."""
        from langgraph.store.sqlite import SqliteStore

        conn = sqlite3.connect(self.db, check_same_thread=False, isolation_level=None)
        try:
            items = SqliteStore(conn).search(("plangate", "timers", "default"), limit=1000)
            return Counter(item.value["label"] for item in items)
        finally:
            conn.close()

    # invariants --------------------------------------------------------------------------
    def check(self, final: dict[str, Any], counts: Counter | None = None) -> dict[str, Any]:
        """Assert the exactly-once invariants; return {"duplicates": [...], "persisted": [...]}.

        - a step whose completion was saved before a kill never runs again (no effect after that kill);
        - one process runs a step at most once; a step running at a kill may run again (once per kill);
        - the thread ended with an answer, every step settled, and the database is intact.
        """
        assert final.get("answer"), f"no final answer: {final}"
        assert not final.get("error"), f"run ended in error: {final}"
        assert all(s in ("completed", "failed", "skipped") for s in final["statuses"].values()), final
        assert self.integrity() == "ok" and all(k["integrity"] == "ok" for k in self.kills), self.kills
        effects = self.effects()
        per_key = Counter(k for k, _ in effects)
        assert all(n == 1 for n in Counter(effects).values()), f"a process ran a step twice: {Counter(effects)}"
        order = {pid: i for i, pid in enumerate(self.pids)}
        for kill in self.kills:
            for key in kill["persisted"]:
                later = [pid for k, pid in effects if k == key and order[pid] > order[kill["pid"]]]
                assert not later, f"step {key} was saved as completed before the kill at {kill['point']} but ran again"
        counts = counts if counts is not None else per_key
        for key, n in counts.items():
            assert n <= 1 + len(self.kills), f"step {key} ran {n} times across {len(self.kills)} kill(s)"
            if any(key in kill["persisted"] for kill in self.kills[:1]):
                assert n == 1, f"step {key} completed before the first kill but has {n} side effects"
        return {"duplicates": sorted(k for k, n in counts.items() if n > 1),
                "persisted": sorted(set().union(*(k["persisted"] for k in self.kills))) if self.kills else []}
