"""Every step type, references, plan timeout, events, views and the plan library.

Step semantics run sync and async (`sync_and_async`); what touches the checkpointer or the store runs on every backend.
"""

import asyncio

import pytest
from langchain_core.messages import AIMessage

from plangate.graph.context import Context
from plangate.graph.engine.views import plan_to_mermaid, plan_tree
from tests import scripted
from tests.fixtures.runner import async_only, one_backend, sync_and_async
from tests.helpers import Recorder, config, user


async def run(runner, steps, ctx=None, recorder=None, **kwargs):
    recorder = recorder or Recorder()
    runner.build(tools={"test": recorder.tools}, **kwargs)
    out = await runner.run({"messages": [{"role": "user", "content": "go"}], "plan": {"goal": "g", "steps": steps}}, config(),
                           context=ctx or Context(max_replans=0))
    return out, recorder


def echo(i, text, **extra):
    return {"id": i, "tool": "test.echo", "args": {"text": text}, **extra}


def statuses(out):
    return {i: r["status"] for i, r in out["step_results"].items()}


@sync_and_async
async def test_false_condition_skips_the_step_and_its_only_dependents(runner):
    steps = [echo(1, "weather is sunny"),
             echo(2, "umbrella", type="conditional", condition={"step": 1, "op": "contains", "value": "rain"}),
             echo(3, "{{step_2.text}} packed", depends_on=[2]),
             echo(4, "after 1", depends_on=[1])]
    out, recorder = await run(runner, steps)
    assert statuses(out) == {1: "completed", 2: "skipped", 3: "skipped", 4: "completed"}
    assert "condition not met" in out["step_results"][2]["error"] and "skipped step" in out["step_results"][3]["error"]
    assert [c[1]["text"] for c in recorder.calls] == ["weather is sunny", "after 1"]


@sync_and_async
async def test_true_condition_runs(runner):
    steps = [{"id": 1, "tool": "test.number", "args": {"value": 25}},
             echo(2, "hot", type="conditional", condition={"step": 1, "op": "gt", "value": 20})]
    out, _ = await run(runner, steps)
    assert statuses(out) == {1: "completed", 2: "completed"}


@sync_and_async
async def test_loop_collects_each_result(runner):
    out, recorder = await run(runner, [echo(1, "tick", type="loop", loop_count=3)])
    result = out["step_results"][1]
    assert result["status"] == "completed" and len(result["output"]) == 3 and recorder.names() == ["echo"] * 3
    assert [o["n"] for o in result["output"]] == [1, 2, 3]


@sync_and_async
async def test_loop_until_condition_stops_early(runner):
    until = {"step": 1, "op": "gt", "value": 1, "field": "n"}
    out, recorder = await run(runner, [echo(1, "tick", type="loop", loop_count=5, condition=until)])
    assert len(out["step_results"][1]["output"]) == 2 and len(recorder.calls) == 2


async def test_fallback_output_stands_in_for_the_failed_step(runner):
    steps = [{"id": 1, "tool": "test.broken", "args": {"text": "primary"}},
             echo(2, "backup", type="fallback", fallback_for=1),
             echo(3, "used {{step_1.text}}", depends_on=[1])]
    out, _ = await run(runner, steps)
    assert statuses(out) == {1: "failed", 2: "completed", 3: "completed"}
    assert out["step_results"][3]["output"]["text"] == "used backup"


@sync_and_async
async def test_fallback_is_skipped_when_not_needed(runner):
    out, _ = await run(runner, [echo(1, "fine"), echo(2, "backup", type="fallback", fallback_for=1)])
    assert statuses(out) == {1: "completed", 2: "skipped"}


async def test_parallel_type_runs_like_normal(runner):
    out, _ = await run(runner, [echo(1, "a", type="parallel"), echo(2, "b", type="parallel")])
    assert statuses(out) == {1: "completed", 2: "completed"}


async def test_stop_on_failure_halts_and_the_answer_explains(runner):
    steps = [{"id": 1, "tool": "test.broken", "args": {"text": "x"}, "stop_on_failure": True},
             echo(2, "independent but later", depends_on=[]), echo(3, "later", depends_on=[2])]
    out, recorder = await run(runner, steps, ctx=Context(max_replans=2, max_parallel_steps=1))
    assert statuses(out)[1] == "failed" and statuses(out)[3] == "skipped"
    assert "stop_on_failure" in out["step_results"][3]["error"]
    assert out["metrics"]["replans"] == 0 and "stop_on_failure" in out["messages"][-1].content


async def test_step_needing_a_failed_step_is_skipped_with_the_reason(runner):
    steps = [{"id": 1, "tool": "test.broken", "args": {"text": "x"}}, echo(2, "ok"),
             echo(3, "{{step_2.text}} and {{step_1}}", depends_on=[2])]
    # step 3 depends on 2 explicitly and references 1: it waits for 1, which failed -> never runs
    out, _ = await run(runner, steps)
    assert statuses(out)[3] == "skipped" and "[1]" in out["step_results"][3]["error"]


@sync_and_async
async def test_reference_to_a_missing_field_fails_the_step_cleanly(runner):
    out, _ = await run(runner, [echo(1, "a"), echo(2, "{{step_1.nope}}", depends_on=[1])])
    assert statuses(out)[2] == "failed" and "has no field 'nope'" in out["step_results"][2]["error"]


@sync_and_async
async def test_plan_timeout_skips_the_rest_and_answers_with_what_finished(runner):
    steps = [{"id": 1, "tool": "test.slow", "args": {"seconds": 0.3}}, echo(2, "late", depends_on=[1])]
    out, recorder = await run(runner, steps, ctx=Context(max_replans=0, plan_timeout_s=0.2))
    assert statuses(out)[2] == "skipped" and "plan timeout" in out["step_results"][2]["error"]
    assert "late" not in [c[1].get("text") for c in recorder.calls]
    assert "plan timeout" in out["messages"][-1].content


@sync_and_async
async def test_events_arrive_in_order_for_a_three_step_plan(runner):
    recorder = Recorder()
    runner.build(tools={"test": recorder.tools})
    plan = {"steps": [echo(1, "a"), echo(2, "b", depends_on=[1]), echo(3, "c", depends_on=[2])]}
    chunks = await runner.stream({"messages": [{"role": "user", "content": "go"}], "plan": plan}, config(),
                                 stream_mode=["custom", "updates"])
    events = [c for mode, c in chunks if mode == "custom"]
    names = [(e["event"], e.get("step")) for e in events if e["event"] != "progress"]
    assert names == [("route_decided", None), ("plan_created", None),
                     ("step_started", 1), ("step_completed", 1), ("step_started", 2), ("step_completed", 2),
                     ("step_started", 3), ("step_completed", 3)]
    progress = [(e["done"], e["total"]) for e in events if e["event"] == "progress"]
    assert progress[0] == (0, 3) and progress[-1] == (3, 3)
    assert all(e["plan_id"] == events[1]["plan_id"] for e in events if "plan_id" in e)


@sync_and_async
async def test_metrics_record_per_step_durations_and_tokens(runner):
    reply = AIMessage(content="sum", usage_metadata={"input_tokens": 11, "output_tokens": 5, "total_tokens": 16})
    out, _ = await run(runner, [echo(1, "a"), echo(2, "b")], models={"default": scripted.ScriptedChatModel(default=reply)})
    assert set(out["metrics"]["step_durations"]) == {"1", "2"}
    assert out["metrics"]["total_tokens"] == 16 and out["metrics"]["tool_calls"] == 2


@one_backend
async def test_mermaid_and_tree_show_every_step_with_status(runner):
    steps = [echo(1, "a"), {"id": 2, "tool": "test.broken", "args": {"text": "x"}},
             echo(3, "b", type="fallback", fallback_for=2)]
    out, _ = await run(runner, steps)
    text = plan_to_mermaid(out["plan"], out["step_results"])
    assert text.startswith("flowchart TD") and all(f"s{i}[" in text for i in (1, 2, 3))
    assert "class s2 failed" in text and "class s1 completed" in text and "s2 -. fallback .-> s3" in text
    from rich.console import Console

    console = Console(record=True, width=120)
    console.print(plan_tree(out["plan"], out["step_results"]))
    rendered = console.export_text()
    assert "1. test.echo" in rendered and "broken cannot handle x" in rendered


async def test_plan_library_reuses_a_successful_plan_without_a_planner_call(runner):
    recorder = Recorder()
    strong = scripted.ScriptedChatModel(replies=[scripted.plan([echo(1, "sleep 10 min"), {"id": 2, "tool": "test.number", "args": {"value": 10}}])])
    models = {"weak": scripted.ScriptedChatModel(default=scripted.route("plan", "test", 0.99)), "strong": strong,
              "default": scripted.ScriptedChatModel(default="done")}
    runner.build(models=models, tools={"test": recorder.tools})
    ctx = Context(router_mode="llm")
    await runner.run(user("note the value 10 and echo"), config(), context=ctx)
    second = await runner.run(user("note the value 42 and echo"), config(), context=ctx)
    assert len(strong.calls_for("PlanDraft")) == 1
    assert "plan reused from the library" in second["route_reason"]
    assert second["metrics"]["plan_library"] == "hit"
    # steps 1 and 2 are independent and run concurrently, so their order varies
    assert ("number", {"value": 42}) in recorder.calls[-2:]


async def test_plan_library_never_stores_failed_plans_and_can_be_turned_off(runner):
    strong = scripted.ScriptedChatModel(default=scripted.plan([{"id": 1, "tool": "test.broken", "args": {"text": "x"}}]))
    models = {"weak": scripted.ScriptedChatModel(default=scripted.route("plan", "test", 0.99)), "strong": strong,
              "default": scripted.ScriptedChatModel(default="done")}
    runner.build(models=models, tools={"test": Recorder().tools})
    for _ in range(2):
        await runner.run(user("break it"), config(), context=Context(router_mode="llm", max_replans=0))
    assert len(strong.calls_for("PlanDraft")) == 2
    ok = scripted.ScriptedChatModel(default=scripted.plan([echo(1, "x")]))
    models["strong"] = ok
    runner.build(models=models, tools={"test": Recorder().tools})  # the same store: no plan for "echo x" in it yet
    for _ in range(2):
        await runner.run(user("echo x"), config(), context=Context(router_mode="llm", plan_library=False))
    assert len(ok.calls_for("PlanDraft")) == 2


@async_only  # a sync invoke cannot be cancelled from outside
async def test_cancelled_run_resumes_without_rerunning_finished_steps(runner):
    recorder = Recorder()
    runner.build(tools={"test": recorder.tools})
    plan = {"steps": [echo(1, "fast one"), {"id": 2, "tool": "test.slow", "args": {"seconds": 0.5}, "depends_on": [1]},
                      echo(3, "after", depends_on=[2])]}
    cfg = config()
    task = asyncio.create_task(runner.run({"messages": [{"role": "user", "content": "go"}], "plan": plan}, cfg))
    while ("slow", {"seconds": 0.5}) not in recorder.calls:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    snapshot = await runner.state(cfg)
    assert set(snapshot.next) == {"run_step"}  # steps 2 and 3 (waiting for 2) of the one wave
    out = await runner.run(None, cfg)
    assert statuses(out) == {1: "completed", 2: "completed", 3: "completed"}
    assert recorder.names().count("echo") == 2  # step 1 ran once, step 3 once


@one_backend
async def test_whole_reference_to_a_dict_in_a_string_argument_is_rendered_as_text(runner):
    out, recorder = await run(runner, [echo(1, "a"), echo(2, "{{step_1}}", depends_on=[1])])
    assert out["step_results"][2]["status"] == "completed"
    assert recorder.calls[-1] == ("echo", {"text": "echo: a"})


def test_the_events_list_matches_what_the_code_emits():
    import re
    from pathlib import Path

    from plangate.graph.events import EVENTS

    root = Path(__file__).resolve().parents[2]
    emitted = {m for d in ("graph", "nodes", "tools") for f in (root / d).rglob("*.py")
               for m in re.findall(r'emit\(\s*"([a-z_]+)"', f.read_text())}
    assert emitted == set(EVENTS)
