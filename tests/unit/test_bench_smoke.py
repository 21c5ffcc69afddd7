"""Smoke test of the benchmark harness: zero latency, no timing assertions.

Every system must do the task's exact tool work and answer, with the model calls its design implies.
"""

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from bench.bare import build_bare, schedule_of
from bench.latency_model import Run, active
from bench.systems import SYSTEMS, ameasure, build, measure
from bench.tasks import SUITE, by_id


@pytest.fixture(scope="module")
def systems():
    return {name: build(name, model_s=0.0, tool_s=0.0) for name in SYSTEMS}


def test_suite_shape():
    classes = [t.cls for t in SUITE]
    assert len(SUITE) >= 30 and classes.count("simple") >= 10 and classes.count("failing") >= 4
    assert all(2 <= len(t.steps) <= 6 for t in SUITE if t.cls != "simple")
    assert len({t.id for t in SUITE}) == len(SUITE)


@pytest.mark.parametrize("task_id", ["s01", "c10", "c18"])
async def test_every_system_does_the_same_work(systems, task_id):
    task = by_id(task_id)
    for name, system in systems.items():
        m = await ameasure(system, task)
        assert m.error is None and m.answer, (name, m)
        assert m.correct, f"{name} made the wrong tool calls on {task_id}: {m}"


async def test_model_calls_follow_each_design(systems):
    task = by_id("c10")  # three chained steps
    calls = {name: (await ameasure(system, task)).kinds for name, system in systems.items()}
    assert calls["plangate-cascade"] == {"plan": 1}  # the rules routed it; the plan's answer template answers
    assert calls["plangate-llm"] == {"route": 1, "plan": 1}
    assert calls["llm-compiler"] == {"plan": 1, "answer": 1}
    assert calls["react"] == {"agent": 4}  # one call per chained step, then the answer
    assert calls["plan-execute"] == {"plan": 1, "agent": 6, "replan": 3}  # two agent calls and a replan per step
    assert sum(calls["plan-execute"].values()) > 3 * sum(calls["plangate-cascade"].values())
    fast = await ameasure(systems["plangate-cascade"], by_id("s01"))
    assert fast.kinds == {"fast": 1} and fast.tool_calls == 1
    failing = await ameasure(systems["plangate-cascade"], by_id("c18"))
    assert failing.kinds == {"plan": 1, "replan": 1} and failing.tool_calls == 1  # one call decides and answers
    reasoning = await ameasure(systems["plangate-cascade"], by_id("r01"))
    assert reasoning.kinds == {"plan": 1, "answer": 1} and reasoning.correct  # no template: the summarizer concludes


def test_sync_run_and_plangate_metrics_agree_with_the_model():
    system = build("plangate-llm", model_s=0.0, tool_s=0.0)
    task = by_id("r01")  # plan, then a summary (the answer needs reasoning)
    with active(Run(task)) as run:
        out = system.graph.invoke(system.make_input(task.request), system.config(), context=system.context)
    assert run.model_calls == out["metrics"]["llm_calls"] == 3
    assert run.input_tokens == out["metrics"]["input_tokens"] > 0
    assert run.output_tokens == out["metrics"]["output_tokens"] > 0
    assert measure(system, task).correct


def test_bare_graph_has_the_same_supersteps():
    system = build("plangate-cascade", model_s=0.0, tool_s=0.0)
    config = system.config()
    assert measure(system, by_id("c07"), config).correct  # five independent steps: one wave, 4 at a time
    schedule = schedule_of(system.graph, config)
    assert ("fan", 5) in schedule
    bare = build_bare(schedule, checkpointer=InMemorySaver())
    bare_config = {"configurable": {"thread_id": "bare"}}
    bare.invoke({"messages": [{"role": "user", "content": "x"}]}, bare_config)
    assert schedule_of(bare, bare_config) == schedule



@pytest.mark.parametrize("task_id", ["s01", "c10", "c18"])
async def test_served_bench_graph_finds_its_task_without_the_harness(task_id):
    """bench/served.py (what the throughput section's server runs) gets no bench run: it must find the task
    in its prompts and do exactly the in-process work, or the server rows of section 7 measure something else."""
    from bench.served import build as build_served

    task = by_id(task_id)
    app = build_served(0.0, 0.0, checkpointer=InMemorySaver())
    out = await app.ainvoke({"messages": [{"role": "user", "content": task.request}]},
                            {"configurable": {"thread_id": f"served-{task_id}"}}, context={"plan_library": False})
    reference = await ameasure(build("plangate-cascade", model_s=0.0, tool_s=0.0), task)
    assert reference.correct and out["messages"][-1].content
    assert (out["metrics"]["llm_calls"], out["metrics"]["tool_calls"]) == (reference.model_calls, reference.tool_calls)


def test_the_cascade_rules_decide_most_of_the_bench_mix_and_the_trap_is_no_longer_sure():
    from bench.gate_share import TARGET, rules_decided, target_row

    found = rules_decided()
    assert found["share"] > TARGET and found["total"] == 42
    assert "c24" in [task for task, _ in found["unsure"]]  # "... and then tell Anna": a clause with no tool
    assert target_row()[2] == "✅"
