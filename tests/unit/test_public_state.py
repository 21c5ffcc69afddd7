"""The output schema is the public contract, and a cancelled run leaves no step shown as running."""

from __future__ import annotations

import asyncio

from plangate.graph.context import Context
from plangate.graph.state import PUBLIC_KEYS
from tests.helpers import Recorder, config, make_graph, user

PUBLIC = {"messages", "route", "confidence", "route_reason", "plan", "step_results", "metrics", "error"}


def test_output_schema_and_invoke_return_only_the_public_keys():
    graph = make_graph()
    assert set(graph.get_output_jsonschema()["properties"]) == PUBLIC == PUBLIC_KEYS
    out = graph.invoke(user("set a timer for 5 minutes and then list my timers"), config())
    assert set(out) <= PUBLIC and {"wave", "plan_seen", "step_budget_s", "plan_history"}.isdisjoint(out)


async def test_a_cancelled_run_leaves_no_step_running_and_continues():
    recorder = Recorder()
    graph, cfg = make_graph(tools={"test": recorder.tools}), config()
    plan = {"goal": "slow", "steps": [{"id": 1, "tool": "test.echo", "args": {"text": "first"}},
                                      {"id": 2, "tool": "test.slow", "args": {"seconds": 1.5}, "depends_on": [1]}]}
    run = asyncio.create_task(graph.ainvoke({**user("run it"), "plan": plan}, cfg, context=Context()))
    while ("slow", {"seconds": 1.5}) not in recorder.calls:
        await asyncio.sleep(0.02)
    run.cancel()
    await asyncio.gather(run, return_exceptions=True)
    stopped = await graph.aget_state(cfg)
    assert stopped.next == ("run_step",) and stopped.values["step_results"][1]["status"] == "completed"
    assert all(r["status"] != "running" for r in stopped.values["step_results"].values())
    done = await graph.ainvoke(None, cfg, context=Context())
    assert [done["step_results"][i]["status"] for i in (1, 2)] == ["completed", "completed"]
