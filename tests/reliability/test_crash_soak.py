"""Randomized crash soak: SIGKILL driver processes at random moments (resumes too), then check exactly-once.

`make test` does 10 kills; `make soak` sets PLANGATE_SOAK_KILLS=50. PLANGATE_SOAK_SEED picks the schedule.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter

from tests.reliability.crashkit import CrashRun

KILLS = int(os.environ.get("PLANGATE_SOAK_KILLS", "10"))
SEED = int(os.environ.get("PLANGATE_SOAK_SEED", "20261122"))
LATENCY = 0.08  # random delay up to this at every model call and tool, so kills spread over the whole run
WINDOW = {"full": 1.3, "fast": 0.3, "builtin": 0.4}  # about how long a run takes after its start line
SCENARIOS = ["full", "full", "full", "fast", "builtin"]
ASYNC_SHARE = 0.3  # threads driven with ainvoke + AsyncSqliteSaver
RESUME_KILL = 0.5  # chance that a resume is killed too (a crash during recovery)


def _killed_or_finished(crash: CrashRun, command: str, rng: random.Random, try_kill: bool) -> tuple[bool, dict | None]:
    proc = crash.spawn(command, latency=LATENCY, seed=rng.randrange(1 << 30))
    if try_kill:
        crash.wait_started(proc)
        delay = rng.uniform(0, WINDOW[crash.scenario])
        time.sleep(delay)
        if crash.kill(proc, f"{command} +{delay:.2f}s"):
            return True, None
    return False, crash.finish(proc)


def test_random_kills_then_resume(tmp_path):
    rng = random.Random(SEED)
    kills, threads, duplicates, landed = 0, 0, Counter(), Counter()
    while kills < KILLS:
        threads += 1
        crash = CrashRun(tmp_path / f"t{threads}", scenario=rng.choice(SCENARIOS), thread=f"soak-{threads}",
                         aio=rng.random() < ASYNC_SHARE)
        (tmp_path / f"t{threads}").mkdir()
        command, final = "run", None
        while final is None:
            try_kill = kills < KILLS and (command == "run" or rng.random() < RESUME_KILL)
            killed, final = _killed_or_finished(crash, command, rng, try_kill=try_kill)
            kills += killed
            command = "resume"
        counts = crash.timers() if crash.scenario == "builtin" else None
        report = crash.check(final, counts)
        duplicates.update(report["duplicates"])
        landed.update(f"{'async ' if crash.aio else ''}{crash.scenario}:{k['last_point']}" for k in crash.kills)
    print(f"\ncrash soak: {kills} kills over {threads} threads (seed {SEED}); kills landed after: {dict(landed)}; "
          f"steps re-run because they were running at a kill: {dict(duplicates)}")
    assert kills >= KILLS


TWO_WRITER_ROUNDS = max(2, KILLS // 5)  # `make test`: 2 rounds, `make soak`: 10


def test_two_writers_on_one_thread_with_random_kills(tmp_path):
    """A run and a resume of one thread race (issue 13): the resume waits for the run's thread lock, the run is
    killed at a random moment (or not), and the resume finishes the turn: exactly once, never forked."""
    rng = random.Random(SEED + 1)
    killed = 0
    for round_ in range(TWO_WRITER_ROUNDS):
        crash = CrashRun(tmp_path / f"w{round_}", scenario=rng.choice(SCENARIOS), thread=f"writers-{round_}",
                         aio=rng.random() < ASYNC_SHARE)
        (tmp_path / f"w{round_}").mkdir()
        first = crash.spawn("run", latency=LATENCY, seed=rng.randrange(1 << 30))
        crash.wait_started(first)
        second = crash.spawn("resume", latency=LATENCY, seed=rng.randrange(1 << 30))
        if rng.random() < 0.7:
            time.sleep(rng.uniform(0, WINDOW[crash.scenario]))
            killed += crash.kill(first, "first writer")
        if not crash.kills:
            crash.finish(first)
        final = crash.finish(second)
        crash.check(final, crash.timers() if crash.scenario == "builtin" else None)
        assert crash.forks() == [], f"round {round_}: the thread forked"
        if not crash.kills:  # the resume waited for the run to end
            (_pid, _start, first_end), (_pid2, second_start, _end) = crash.starts()
            assert second_start >= first_end
    print(f"\ntwo writers: {TWO_WRITER_ROUNDS} rounds, {killed} first writers killed mid-run; no fork, no repeat")
