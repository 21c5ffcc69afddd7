"""plangate served by a real `langgraph dev`, driven with langgraph-sdk like Studio drives it.

One server per module: the repo's langgraph.json plus a `plangate_test` graph (served_graph.py) with a slow
and an echo tool whose side effects go to a log file, so cancel/resume and concurrency can be counted.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import fields

import pytest
from langgraph_sdk import get_client

from plangate.graph.context import Context
from tests.integration.devserver import DevServer, langgraph_dev

pytestmark = pytest.mark.integration

NODES = {"router", "fast_reply", "planner", "approve_plan", "dispatch", "run_step", "approve_steps", "replanner",
         "summarizer"}
PLAN_REQUEST = "set a timer for 5 minutes and then list my timers"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> DevServer:
    workdir = tmp_path_factory.mktemp("langgraph-dev")
    effects = workdir / "side-effects.log"
    with langgraph_dev(workdir, extra_graphs={"plangate_test": "./tests/integration/served_graph.py:graph"},
                       env={"PLANGATE_TEST_SIDE_EFFECTS": str(effects)}) as running:
        yield running


@pytest.fixture
def client(server):
    return get_client(url=server.url)


def effects(server: DevServer) -> list[str]:
    path = server.workdir / "side-effects.log"
    return path.read_text().splitlines() if path.exists() else []


async def assistant_id(client, graph_id: str = "plangate") -> str:
    found = await client.assistants.search(graph_id=graph_id)
    assert len(found) == 1, found
    return found[0]["assistant_id"]


def user(text: str, plan: dict | None = None) -> dict:
    return {"messages": [{"role": "user", "content": text}], **({"plan": plan} if plan else {})}


async def wait_for_effect(server: DevServer, line: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while line not in effects(server):
        assert time.monotonic() < deadline, f"{line!r} never happened; effects: {effects(server)}"
        await asyncio.sleep(0.1)


async def test_assistants_and_context_schema(client):
    assert {a["graph_id"] for a in await client.assistants.search()} == {"plangate", "plangate_test"}
    schemas = await client.assistants.get_schemas(await assistant_id(client))
    props = schemas["context_schema"]["properties"]
    assert set(props) == {f.name for f in fields(Context)}
    for f in fields(Context):
        assert props[f.name]["description"] == f.metadata["description"], f.name
        assert props[f.name]["default"] == f.metadata["base"], f.name
    assert props["router_mode"]["enum"] == ["cascade", "llm", "rules"]
    assert {"messages", "plan"} <= set(schemas["input_schema"]["properties"])
    assert {"route", "confidence", "plan", "step_results", "metrics"} <= set(schemas["state_schema"]["properties"])


async def test_graph_shows_every_node_and_only_real_edges(client):
    drawn = await client.assistants.get_graph(await assistant_id(client), xray=True)
    assert {n["id"] for n in drawn["nodes"]} == NODES | {"__start__", "__end__"}
    targets: dict[str, set[str]] = {}
    for edge in drawn["edges"]:
        targets.setdefault(edge["source"], set()).add(edge["target"])
    assert targets["__start__"] == {"router"}
    assert {"fast_reply", "planner"} <= targets["router"] <= {"fast_reply", "planner", "approve_plan", "approve_steps", "__end__"}
    assert targets["dispatch"] == {"run_step", "approve_steps", "replanner", "summarizer"}
    assert targets["run_step"] == targets["approve_steps"] == {"dispatch"}
    assert targets["replanner"] == {"dispatch", "__end__"}  # replacement steps, or the answer
    assert targets["summarizer"] == {"__end__"}
    assert all(len(t) < len(NODES) for t in targets.values())  # no "could go anywhere" fan-out


async def stream(client, thread_id: str, graph: str, payload: dict, **kwargs) -> list:
    parts = []
    async for part in client.runs.stream(thread_id, graph, input=payload,
                                         stream_mode=["updates", "custom", "messages"], **kwargs):
        parts.append(part)
    return parts


async def test_fast_run_streams_updates_custom_and_messages(client):
    thread = await client.threads.create()
    parts = await stream(client, thread["thread_id"], await assistant_id(client), user("set a tea timer for 3 minutes"))
    custom = [p.data for p in parts if p.event == "custom"]
    updates = [next(iter(p.data)) for p in parts if p.event == "updates"]
    assert custom[0]["event"] == "route_decided" and custom[0]["route"] == "fast"
    assert updates[:2] == ["router", "fast_reply"]
    assert any(p.event.startswith("messages") for p in parts)
    assert not [p for p in parts if p.event == "error"]
    state = await client.threads.get_state(thread["thread_id"])
    answer = state["values"]["messages"][-1]["content"]
    assert state["values"]["route"] == "fast" and "tea" in answer and "3 min" in answer


async def test_plan_run_streams_plan_and_step_events(client):
    thread = await client.threads.create()
    parts = await stream(client, thread["thread_id"], await assistant_id(client), user(PLAN_REQUEST),
                         context={"user_id": f"u-{uuid.uuid4().hex[:6]}"})
    events = [p.data["event"] for p in parts if p.event == "custom"]
    assert events[0] == "route_decided" and "plan_created" in events
    assert events.count("step_started") == 2 and events.count("step_completed") == 2 and "progress" in events
    updates = {next(iter(p.data)) for p in parts if p.event == "updates"}
    assert {"router", "planner", "dispatch", "run_step", "summarizer"} <= updates
    state = await client.threads.get_state(thread["thread_id"])
    results = state["values"]["step_results"]
    assert [results[k]["status"] for k in ("1", "2")] == ["completed", "completed"]
    assert "5 min" in state["values"]["messages"][-1]["content"]

    history = await client.threads.get_history(thread["thread_id"], limit=50)
    nexts = [tuple(h["next"]) for h in history]
    assert nexts[0] == () and ("planner",) in nexts and ("summarizer",) in nexts
    assert ("run_step", "run_step") in nexts  # one wave: the list step waits in it for the timer step
    assert history[-1]["metadata"]["source"] == "input" and len(history) >= 8


async def test_demo_request_across_domains_runs_on_the_server(client):
    """The Makefile demo (timer, calendar, notification) under blockbuster: no tool may block the loop."""
    thread = await client.threads.create()
    request = "set a timer for 10 minutes and add dentist tomorrow at 9am to my calendar, then notify me when done"
    parts = await stream(client, thread["thread_id"], await assistant_id(client), user(request),
                         context={"user_id": f"u-{uuid.uuid4().hex[:6]}"})
    assert not [p.data for p in parts if p.event == "error"]
    state = await client.threads.get_state(thread["thread_id"])
    results = state["values"]["step_results"]
    assert len(results) >= 3 and all(r["status"] == "completed" for r in results.values()), results


async def test_approval_interrupt_resumed_with_command(client):
    graph = await assistant_id(client)
    ctx = {"approve_plans": True, "user_id": f"u-{uuid.uuid4().hex[:6]}"}
    approved, rejected = await client.threads.create(), await client.threads.create()
    for thread in (approved, rejected):
        await client.runs.wait(thread["thread_id"], graph, input=user(PLAN_REQUEST), context=ctx)
        state = await client.threads.get_state(thread["thread_id"])
        assert state["next"] == ["approve_plan"]
        assert state["tasks"][0]["interrupts"][0]["value"]["action_requests"][0]["name"] == "run_plan"
        assert (await client.threads.get(thread["thread_id"]))["status"] == "interrupted"

    done = await client.runs.wait(approved["thread_id"], graph, command={"resume": "approve"}, context=ctx)
    assert [done["step_results"][k]["status"] for k in ("1", "2")] == ["completed", "completed"]
    assert (await client.threads.get(approved["thread_id"]))["status"] == "idle"

    done = await client.runs.wait(rejected["thread_id"], graph, command={"resume": {"decision": "reject", "reason": "no"}},
                                  context=ctx)
    assert done["error"] == "plan rejected" and not done["step_results"]


def slow_plan(tag: str, seconds: float) -> dict:
    return {"goal": f"integration {tag}", "steps": [
        {"id": 1, "tool": "test.echo", "args": {"text": f"first-{tag}"}},
        {"id": 2, "tool": "test.slow", "args": {"seconds": seconds, "label": f"long-{tag}"}, "depends_on": [1]},
        {"id": 3, "tool": "test.echo", "args": {"text": f"after-{tag}"}, "depends_on": [2]},
    ]}


async def test_cancel_a_slow_plan_then_resume_without_rerunning_finished_steps(client, server):
    graph, tag = await assistant_id(client, "plangate_test"), uuid.uuid4().hex[:6]
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], graph, input=user("run the slow plan", slow_plan(tag, 3)))
    await wait_for_effect(server, f"slow-start long-{tag}")
    await client.runs.cancel(thread["thread_id"], run["run_id"], wait=True)
    assert (await client.runs.get(thread["thread_id"], run["run_id"]))["status"] == "interrupted"
    stopped = await client.threads.get_state(thread["thread_id"])
    assert stopped["next"] == ["run_step", "run_step"]  # step 2, and step 3 waiting for it in the same wave
    assert stopped["values"]["step_results"]["1"]["status"] == "completed"
    assert f"slow-end long-{tag}" not in effects(server)

    done = await client.runs.wait(thread["thread_id"], graph, input=None)  # continue from the last checkpoint
    assert [done["step_results"][k]["status"] for k in ("1", "2", "3")] == ["completed"] * 3
    mine = [line for line in effects(server) if line.endswith(tag)]
    assert mine == [f"echo first-{tag}", f"slow-start long-{tag}", f"slow-start long-{tag}", f"slow-end long-{tag}",
                    f"echo after-{tag}"]  # step 1 ran once; only the cancelled step ran again


async def test_two_runs_on_two_threads_run_at_once(client, server):
    graph = await assistant_id(client, "plangate_test")
    tags = [uuid.uuid4().hex[:6] for _ in range(2)]
    threads = [await client.threads.create() for _ in tags]
    runs = [await client.runs.create(t["thread_id"], graph, input=user("run", slow_plan(tag, 2)))
            for t, tag in zip(threads, tags, strict=True)]
    results = await asyncio.gather(*(client.runs.join(t["thread_id"], r["run_id"])
                                     for t, r in zip(threads, runs, strict=True)))
    for result, tag in zip(results, tags, strict=True):
        assert result["step_results"]["3"]["output"]["text"] == f"after-{tag}"
    log = effects(server)
    starts = [log.index(f"slow-start long-{tag}") for tag in tags]
    ends = [log.index(f"slow-end long-{tag}") for tag in tags]
    assert max(starts) < min(ends)  # both slow steps were running at the same time


def test_no_blocking_calls_were_reported(server):
    """langgraph dev runs blockbuster: any blocking call on the event loop shows up in its log."""
    assert server.blocking_errors() == []
    assert "Traceback" not in server.log_text(), server.log_text()[-3000:]


def test_the_server_compiles_each_graph_once(server):
    """langgraph.json names a module path, so the server imports (and compiles) the graph once, not twice."""
    log = server.log_text()
    assert log.count("plangate: compiled graph 'plangate' ") == 1, [line for line in log.splitlines() if "compiled graph" in line]
    assert log.count("plangate: compiled graph 'plangate_test' ") == 1
