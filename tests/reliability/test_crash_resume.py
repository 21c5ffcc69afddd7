"""SIGKILL a real plangate process at chosen points, resume it in a new process, and check nothing ran twice.

Each case pauses `crash_driver` (sync invoke + SqliteSaver, or for `async-` cases ainvoke + AsyncSqliteSaver) at a named point (see its docstring), kills it with SIGKILL, records which
steps the SQLite checkpoint holds as completed, resumes (graph.invoke(None) in a new process, or
`plangate resume THREAD --db PATH`), and asserts: a final answer; a step saved as completed before the kill
has exactly one side effect; a step running at the kill has at most two; `PRAGMA integrity_check` is ok.
"""

from __future__ import annotations

import pytest

from tests.reliability.crashkit import CrashRun

# (case id, scenario, pause point, steps that must already be saved when the kill lands, resume with the CLI)
POINTS = [
    ("router", "full", "model:RouteDecision", set(), False),
    ("planner", "full", "model:PlanDraft", set(), False),
    ("first-wave-all-running", "full", "tool:s1:before", set(), False),
    ("parallel-two-done-one-running", "full", "tool:s3:before@s1,s2", {"s1", "s2"}, False),
    ("parallel-effect-done-not-returned", "full", "tool:s3:after@s1,s2", {"s1", "s2"}, False),
    ("second-wave", "full", "tool:s4:before", {"s1", "s2", "s3"}, False),
    ("retry-backoff", "full", "!tool:s5:failed", {"s1", "s2", "s3", "s4"}, False),
    ("replanner", "full", "model:ReplanDecision", {"s1", "s2", "s3", "s4", "s5"}, False),
    ("replacement-step", "full", "tool:s7:before", {"s1", "s2", "s3", "s4", "s5"}, False),
    ("summarizer", "full", "model:summary", {"s1", "s2", "s3", "s4", "s5", "s7"}, False),
    ("fast-path-after-effect", "fast", "tool:fast:after", set(), False),
    ("builtin-parallel-cli-resume", "builtin", "tool:pasta:before@tea", {"tea"}, True),
    ("builtin-summarizer-cli-resume", "builtin", "model:summary", {"tea", "pasta"}, True),
    ("async-parallel-two-done-one-running", "full", "tool:s3:before@s1,s2", {"s1", "s2"}, False),
    ("async-replanner", "full", "model:ReplanDecision", {"s1", "s2", "s3", "s4", "s5"}, False),
]


@pytest.mark.parametrize(("case", "scenario", "pause", "saved", "cli"), POINTS, ids=[p[0] for p in POINTS])
def test_kill_at_point_then_resume(tmp_path, case, scenario, pause, saved, cli):
    crash = CrashRun(tmp_path, scenario=scenario, thread=f"t-{case}", aio=case.startswith("async-"))
    proc = crash.spawn("run", pause=pause)
    point = crash.wait_paused(proc)
    assert crash.kill(proc, point), "the driver finished before it could be killed"
    persisted = crash.kills[-1]["persisted"]
    assert saved <= persisted, f"expected {saved} saved at {case}, the checkpoint holds {persisted}"
    assert crash.integrity() == "ok"

    final = crash.resume_cli() if cli else crash.resume()

    counts = crash.timers() if scenario == "builtin" else None
    report = crash.check(final, counts)
    if scenario == "full":
        assert final["statuses"] == {"1": "completed", "2": "completed", "3": "completed", "4": "completed",
                                     "5": "completed", "6": "failed", "7": "completed"}
    if scenario == "builtin":
        assert counts == {"tea": 1, "pasta": 1}, counts
        assert "tea" in final["answer"] and "pasta" in final["answer"]
    # only a step that was running at the kill may have run twice
    assert not set(report["duplicates"]) & persisted
    print(f"crash point {case}: saved before kill {sorted(persisted)}, re-run after resume {report['duplicates']}")


def test_resume_of_a_finished_thread_runs_nothing(tmp_path):
    crash = CrashRun(tmp_path, scenario="full", thread="t-finished")
    first = crash.finish(crash.spawn("run"))
    before = crash.effects()
    again = crash.resume()
    assert again["answer"] == first["answer"] and crash.effects() == before
