"""Tool faults: raising, hanging, huge or odd output, flaky, cancelled mid-step. Steps fail clearly, never the run.

Runs on the `runner` fixture: every checkpointer, sync and async, unless a test says otherwise."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from langchain_core.tools import BaseTool, tool

from plangate.graph.context import Context
from plangate.tools.errors import RetryableToolError, ToolError
from plangate.tools.metadata import describe_tool
from tests.fixtures.runner import async_only, sync_and_async
from tests.helpers import Recorder, config
from tests.reliability.crashkit import ROOT

FIVE_MB = "x" * (5 * 1024 * 1024)


async def _run(runner, steps, tools, **ctx):
    plan = {"goal": "tool faults", "steps": steps}
    payload = {"messages": [{"role": "user", "content": "run it"}], "plan": plan}
    runner.build(tools={"test": tools})
    return await runner.run(payload, config(), context=Context(**{"max_replans": 0, **ctx}))


def _tools(*fns):
    return [describe_tool(tool(fn), keywords=[fn.__name__]) for fn in fns]


def boom(text: str) -> str:
    """Raise an unexpected error."""
    raise RuntimeError(f"boom on {text}")


def refuse(text: str) -> str:
    """Raise a ToolError that cannot pass."""
    raise ToolError(f"cannot do {text}")


def huge(text: str) -> str:
    """Return 5 MB."""
    return FIVE_MB


def prose(text: str) -> str:
    """Return text that is not JSON."""
    return "plain words, {not json"


def odd(text: str) -> object:
    """Return an object JSON cannot hold."""
    return {"when": time, "items": {1, 2}}


def echo(text: str) -> dict:
    """Echo."""
    return {"text": text}


async def test_raising_tools_fail_their_step_with_the_error_and_the_run_answers(runner):
    out = await _run(runner, [{"id": 1, "tool": "test.boom", "args": {"text": "a"}, "retries": 3},
                {"id": 2, "tool": "test.refuse", "args": {"text": "b"}, "retries": 3},
                {"id": 3, "tool": "test.echo", "args": {"text": "fine"}}], _tools(boom, refuse, echo))
    results = out["step_results"]
    assert results[1]["status"] == "failed" and results[1]["error"] == "RuntimeError: boom on a"
    assert results[2]["error"] == "cannot do b" and results[1]["attempts"] == results[2]["attempts"] == 1  # not retried
    assert results[3]["status"] == "completed"
    assert "boom on a" in out["messages"][-1].content and "cannot do b" in out["messages"][-1].content


@sync_and_async
async def test_custom_basetool_subclass_runs_sync_and_async(runner):
    class Shout(BaseTool):
        name: str = "shout"
        description: str = "Upper-case the text."

        def _run(self, text: str) -> str:
            return text.upper()

    steps = [{"id": 1, "tool": "test.shout", "args": {"text": "hi"}}]
    out = await _run(runner, steps, [describe_tool(Shout(), keywords=["shout"])])
    assert out["step_results"][1]["output"] == "HI"


@pytest.mark.parametrize("kind", ["sync", "async"], ids=["sync_tool", "async_tool"])
async def test_hanging_tool_times_out_and_is_retried_then_fails(runner, no_sleep, kind):
    release = threading.Event()
    calls = []

    @tool("hang")
    def hang_sync(text: str) -> str:
        """Hang."""
        calls.append(text)
        release.wait(10)
        return "late"

    @tool("hang")
    async def hang_async(text: str) -> str:
        """Hang."""
        calls.append(text)
        await asyncio.sleep(10)
        return "late"

    hang = hang_sync if kind == "sync" else hang_async
    steps = [{"id": 1, "tool": "test.hang", "args": {"text": "x"}, "timeout_s": 0.2, "retries": 1}]
    try:
        out = await _run(runner, steps, [describe_tool(hang, keywords=["hang"])])
    finally:
        release.set()
    result = out["step_results"][1]
    assert result["status"] == "failed" and result["error"] == "hang did not finish within 0.2s"
    assert result["attempts"] == 2 and len(calls) == 2 and len(no_sleep) == 1  # one retry after a backoff


HANGING_SCRIPT = """
import asyncio, sys, time
from langchain_core.tools import tool
from tests.helpers import config, make_graph
from plangate.tools.metadata import describe_tool

@tool("hang")
def hang(text: str) -> str:
    '''Hang for a minute.'''
    time.sleep(60)
    return text

graph = make_graph(tools={"test": [describe_tool(hang, keywords=["hang"])]})
payload = {"messages": [{"role": "user", "content": "x"}],
           "plan": {"steps": [{"id": 1, "tool": "test.hang", "args": {"text": "a"}, "timeout_s": 0.2, "retries": 0}]}}
if sys.argv[1] == "async":
    out = asyncio.run(graph.ainvoke(payload, config()))
else:
    out = graph.invoke(payload, config())
print(out["step_results"][1]["error"], flush=True)
"""


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_hung_tool_does_not_keep_the_process_alive(mode):
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(HANGING_SCRIPT), mode], cwd=ROOT, capture_output=True,
                          text=True, timeout=50, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "hang did not finish within 0.2s"
    assert time.monotonic() - started < 30  # exited long before the tool's 60 s sleep ended


@pytest.mark.parametrize("runner", ["sqlite", "sqlite_aio"], indirect=True)  # measures the database file
async def test_five_megabyte_output_is_truncated_and_checkpoints_stay_small(runner):
    db = Path(runner.database.target)
    out = await _run(runner, [{"id": 1, "tool": "test.huge", "args": {"text": "a"}},
                              {"id": 2, "tool": "test.echo", "args": {"text": "{{step_1.message}}"}, "depends_on": [1]}],
                     _tools(huge, echo))
    first = out["step_results"][1]["output"]
    assert first["truncated"] is True and len(first["preview"]) == 64_000 and "5242882" in first["message"]
    assert out["step_results"][2]["status"] == "completed"
    with sqlite3.connect(db) as conn:
        biggest = max(conn.execute("SELECT max(length(checkpoint)) FROM checkpoints").fetchone()[0],
                      conn.execute("SELECT max(length(value)) FROM writes").fetchone()[0])
    assert biggest < 300_000
    assert db.stat().st_size + db.with_name(db.name + "-wal").stat().st_size < 8_000_000


@sync_and_async
async def test_non_json_output_referenced_as_json_fails_the_next_step_clearly(runner):
    out = await _run(runner, [{"id": 1, "tool": "test.prose", "args": {"text": "a"}},
                {"id": 2, "tool": "test.echo", "args": {"text": "{{step_1.answer}}"}, "depends_on": [1]},
                {"id": 3, "tool": "test.odd", "args": {"text": "c"}}], _tools(prose, echo, odd))
    results = out["step_results"]
    assert results[1]["output"] == "plain words, {not json"
    assert results[2]["status"] == "failed" and "step 1's output has no field 'answer'" in results[2]["error"]
    assert results[3]["status"] == "completed" and isinstance(results[3]["output"], str)  # kept as text


async def test_flaky_tool_passes_after_retries_with_growing_backoff(runner, no_sleep):
    recorder = Recorder()
    recorder.failures["x"] = 3
    out = await _run(runner, [{"id": 1, "tool": "test.flaky", "args": {"text": "x"}, "retries": 3}], recorder.tools)
    assert out["step_results"][1]["status"] == "completed" and out["step_results"][1]["attempts"] == 4
    assert len(no_sleep) == 3 and no_sleep[0] < no_sleep[1] < no_sleep[2]


async def test_flaky_tool_out_of_retries_fails_as_retryable(runner, no_sleep):
    recorder = Recorder()
    recorder.failures["x"] = 5
    out = await _run(runner, [{"id": 1, "tool": "test.flaky", "args": {"text": "x"}, "retries": 1}], recorder.tools)
    result = out["step_results"][1]
    assert result["status"] == "failed" and result["retryable"] is True and result["attempts"] == 2
    assert recorder.names() == ["flaky", "flaky"]


@async_only  # a sync invoke cannot be cancelled from outside
async def test_slow_step_cancelled_mid_step_resumes_without_rerunning_the_finished_step(runner):
    calls: list[str] = []
    gate = asyncio.Event()

    @tool("slow")
    async def slow(text: str) -> str:
        """Slow until the gate opens."""
        calls.append(text)
        if not gate.is_set():
            await asyncio.sleep(30)
        return f"slow {text}"

    @tool("fast")
    def fast(text: str) -> str:
        """Fast."""
        calls.append(text)
        return f"fast {text}"

    tools = {"test": [describe_tool(slow, keywords=["slow"]), describe_tool(fast, keywords=["fast"])]}
    steps = [{"id": 1, "tool": "test.fast", "args": {"text": "one"}},
             {"id": 2, "tool": "test.slow", "args": {"text": "two"}},
             {"id": 3, "tool": "test.fast", "args": {"text": "three"}, "depends_on": [1, 2]}]
    payload = {"messages": [{"role": "user", "content": "go"}], "plan": {"steps": steps}}
    cfg = config()
    runner.build(tools=tools)
    task = asyncio.create_task(runner.run(payload, cfg))
    while "two" not in calls or "one" not in calls:
        await asyncio.sleep(0.01)
    async with asyncio.timeout(30):
        while not any(t.result for t in (await runner.state(cfg)).tasks):  # step 1's write is saved
            await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert set((await runner.state(cfg)).next) == {"run_step"}
    gate.set()
    out = await runner.run(None, cfg)
    assert {k: v["status"] for k, v in out["step_results"].items()} == {1: "completed", 2: "completed", 3: "completed"}
    assert calls.count("one") == 1 and calls.count("two") == 2 and calls.count("three") == 1
    if runner.kind == "sqlite":
        await runner.close()
        with sqlite3.connect(runner.database.target) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_tool_raising_retryable_error_type_is_retried(runner, no_sleep):
    attempts = []

    @tool("blip")
    def blip(text: str) -> str:
        """Fail once with a connection error."""
        attempts.append(text)
        if len(attempts) == 1:
            raise RetryableToolError("connection reset")
        return "ok"

    out = await _run(runner, [{"id": 1, "tool": "test.blip", "args": {"text": "a"}, "retries": 2}], [describe_tool(blip, keywords=["blip"])])
    assert out["step_results"][1]["status"] == "completed" and len(attempts) == 2
