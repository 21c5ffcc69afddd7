"""plangate behind a chat UI: a real `langgraph dev` driven with the exact payloads agent-chat-ui sends.

agent-chat-ui (langchain-ai/agent-chat-ui) renders action buttons for LangChain's HITL interrupt value and resumes
with `submit({}, {command: {resume: {decisions: [decision]}}})`: input `{}`, one decision per click. A typed
message goes out as `{messages: [...hidden tool answers for unanswered tool calls, human message with text
blocks]}`. It reads the thread through `values` and token streams through `messages-tuple`.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx
import pytest
from langgraph_sdk import get_client

from tests.integration.devserver import DevServer, langgraph_dev

pytestmark = pytest.mark.integration

GRAPH = "plangate"
PLAN_REQUEST = "set a timer for 5 minutes and then list my timers"
PUBLIC = {"messages", "route", "confidence", "route_reason", "plan", "step_results", "metrics", "error"}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> DevServer:
    workdir = tmp_path_factory.mktemp("chat-ui")
    with langgraph_dev(workdir, extra_graphs={"plangate_test": "./tests/integration/served_graph.py:graph"},
                       env={"PLANGATE_TEST_SIDE_EFFECTS": str(workdir / "side-effects.log")}) as running:
        yield running


def effects(server: DevServer) -> list[str]:
    path = server.workdir / "side-effects.log"
    return path.read_text().splitlines() if path.exists() else []


async def wait_for_effect(server: DevServer, line: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while line not in effects(server):
        assert time.monotonic() < deadline, f"{line!r} never happened; effects: {effects(server)}"
        await asyncio.sleep(0.1)


@pytest.fixture
def client(server):
    return get_client(url=server.url)


def typed(text: str, state_messages: list | None = None) -> dict:
    """What agent-chat-ui sends for a typed message: hidden answers to unanswered tool calls, then the text."""
    hidden = []
    messages = state_messages or []
    for i, message in enumerate(messages):
        following = messages[i + 1] if i + 1 < len(messages) else None
        if message["type"] == "ai" and message.get("tool_calls") and not (following and following["type"] == "tool"):
            hidden += [{"type": "tool", "tool_call_id": c["id"], "id": f"do-not-render-{uuid.uuid4()}", "name": c["name"],
                        "content": "Successfully handled tool call."} for c in message["tool_calls"]]
    return {"messages": [*hidden, {"id": str(uuid.uuid4()), "type": "human", "content": [{"type": "text", "text": text}]}]}


def decide(*decisions: dict) -> dict:
    return {"input": {}, "command": {"resume": {"decisions": list(decisions)}}}


async def waiting(client, context: dict, text: str = PLAN_REQUEST) -> tuple[str, dict]:
    thread = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread, GRAPH, input=typed(text), context=context)
    state = await client.threads.get_state(thread)
    assert (await client.threads.get(thread))["status"] == "interrupted"
    return thread, state["tasks"][0]["interrupts"][0]["value"]


def ctx(**extra) -> dict:
    return {"user_id": f"u-{uuid.uuid4().hex[:8]}", **extra}


async def test_output_schema_is_the_public_contract(client):
    assistant = (await client.assistants.search(graph_id=GRAPH))[0]["assistant_id"]
    schemas = await client.assistants.get_schemas(assistant)
    assert set(schemas["output_schema"]["properties"]) == PUBLIC
    assert {"wave", "plan_seen", "step_budget_s"} <= set(schemas["state_schema"]["properties"])  # kept, not output


async def test_plan_approval_approve_edit_and_reject_as_agent_chat_ui_sends_them(client, server):
    context = ctx(approve_plans=True)
    thread, request = await waiting(client, context)
    raw = httpx.get(f"{server.url}/threads/{thread}/state").json()["tasks"][0]["interrupts"][0]["value"]
    assert raw == request and list(request) == ["action_requests", "review_configs"]
    assert request["action_requests"][0]["name"] == "run_plan"
    assert request["review_configs"] == [{"action_name": "run_plan", "allowed_decisions": ["approve", "edit", "reject"]}]
    body = {"assistant_id": GRAPH, **decide({"type": "approve"}), "context": context}  # the resume, as sent on the wire
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        done = (await http.post(f"/threads/{thread}/runs/wait", json=body)).json()
    assert [done["step_results"][k]["status"] for k in ("1", "2")] == ["completed", "completed"]
    assert set(done) <= PUBLIC
    print(f"\ninterrupt value: {json.dumps(raw)}\nresume body: {json.dumps(body)}")

    thread, request = await waiting(client, context)
    plan = request["action_requests"][0]["args"]
    steps = [{**plan["steps"][0], "args": {"duration_s": 120, "label": "edited"}}]
    # the UI edits each arg as text: `steps` comes back as a JSON string
    edit = {"type": "edit", "edited_action": {"name": "run_plan", "args": {**plan, "steps": json.dumps(steps)}}}
    done = await client.runs.wait(thread, GRAPH, **decide(edit), context=context)
    assert [s["tool"] for s in done["plan"]["steps"]] == ["timer.set_timer"]
    assert done["step_results"]["1"]["output"]["timer"]["label"] == "edited"

    thread, _ = await waiting(client, context)
    done = await client.runs.wait(thread, GRAPH, **decide({"type": "reject", "message": "not today"}), context=context)
    assert done["error"] == "plan rejected" and done["messages"][-1]["content"] == "Plan rejected: not today. Nothing was run."


async def test_side_effect_steps_approve_edit_and_reject_one_decision_at_a_time(client):
    context = ctx(approve_side_effects="on")
    text = "turn on the kitchen lights and turn on the bedroom light"
    thread, request = await waiting(client, context, text)
    assert [(a["name"], a["args"]) for a in request["action_requests"]] == [
        ("smart_home.set_device", {"device": "kitchen lights", "state": "on"}),
        ("smart_home.set_device", {"device": "bedroom light", "state": "on"})]
    edit = {"type": "edit", "edited_action": {"name": "smart_home.set_device", "args": {"device": "kitchen lights", "state": "40"}}}
    await client.runs.wait(thread, GRAPH, **decide(edit), context=context)  # one decision: the second is asked again
    state = await client.threads.get_state(thread)
    (left,) = state["tasks"][0]["interrupts"][0]["value"]["action_requests"]
    assert left["args"] == {"device": "bedroom light", "state": "on"}
    done = await client.runs.wait(thread, GRAPH, **decide({"type": "reject", "message": "someone is asleep"}), context=context)
    assert done["step_results"]["1"]["output"]["message"] == "Kitchen light is on at 40%."
    assert done["step_results"]["2"]["status"] == "skipped" and "someone is asleep" in done["step_results"]["2"]["error"]
    old_client = ctx(approve_side_effects=True)  # the flag's old boolean still means "on"
    thread, _ = await waiting(client, old_client, "turn on the coffee maker")  # the fast path's one call waits too
    done = await client.runs.wait(thread, GRAPH, **decide({"type": "approve"}), context=old_client)
    assert done["messages"][-1]["content"] == "Coffee maker plug is on."


@pytest.mark.parametrize(("text", "ran"), [("yes, go ahead", True), ("no, cancel it", False)])
async def test_a_clear_yes_or_no_typed_into_the_chat_is_the_decision(client, text, ran):
    context = ctx(approve_plans=True)
    thread, _ = await waiting(client, context)
    before = (await client.threads.get_state(thread))["values"]["messages"]
    done = await client.runs.wait(thread, GRAPH, input=typed(text, before), context=context)
    assert (await client.threads.get(thread))["status"] == "idle"
    if ran:
        assert [done["step_results"][k]["status"] for k in ("1", "2")] == ["completed", "completed"]
    else:
        assert done["messages"][-1]["content"].startswith("Plan rejected: rejected in the chat")


async def test_any_other_message_closes_the_waiting_plan_and_the_new_request_runs(client):
    context = ctx(approve_plans=True)
    thread, _ = await waiting(client, context)
    before = (await client.threads.get_state(thread))["values"]["messages"]
    done = await client.runs.wait(thread, GRAPH, input=typed("is the front door locked?", before), context=context)
    answer = done["messages"][-1]["content"]
    assert answer.startswith("The earlier plan (set a timer for 5 minutes and then list my timers) was closed")
    assert "not run: step 1 timer.set_timer" in answer and answer.endswith("Front door lock is locked.")
    assert (await client.threads.get(thread))["status"] == "idle"


@pytest.mark.parametrize("templates", [False, True], ids=["summarizer", "template"])
async def test_messages_tuple_stream_of_a_plan_carries_only_the_answer(client, templates):
    """A written answer streams in several chunks under the stored id; a template's answer (no model call) is one."""
    thread = (await client.threads.create())["thread_id"]
    chunks = []
    async for part in client.runs.stream(thread, GRAPH, input=typed(PLAN_REQUEST), context=ctx(answer_templates=templates),
                                         stream_mode=["messages-tuple", "values"]):
        if part.event == "messages":
            chunks.append(part.data[0])
    final = (await client.threads.get_state(thread))["values"]["messages"]
    ai = [c for c in chunks if c["type"] in ("ai", "AIMessageChunk")]
    assert {c["id"] for c in ai} == {final[-1]["id"]}
    assert len(ai) == 1 if templates else len(ai) > 1
    assert not [c for c in chunks if c.get("tool_calls") or c.get("tool_call_chunks")]
    assert "".join(c["content"] for c in ai).strip() == final[-1]["content"]
    assert [m["type"] for m in final] == ["human", "ai", "tool", "tool", "ai"]  # the plan, shown as tool traffic
    print(f"\nmessages-tuple: {len(chunks)} chunks, {len(ai)} AI chunks, ids {sorted({c['id'] for c in ai})}, "
          f"final message id {final[-1]['id']}")


def slow_plan(tag: str) -> dict:
    return {"goal": f"slow {tag}", "steps": [
        {"id": 1, "tool": "test.echo", "args": {"text": f"first-{tag}"}},
        {"id": 2, "tool": "test.slow", "args": {"seconds": 5, "label": f"long-{tag}"}, "depends_on": [1]},
        {"id": 3, "tool": "test.echo", "args": {"text": f"after-{tag}"}, "depends_on": [2]}]}


@pytest.mark.parametrize("strategy", ["interrupt", "rollback"])
async def test_double_texting_a_plan_in_flight(client, server, strategy):
    """README's double-texting table: interrupt closes the plan and says what was not run; rollback forgets the
    run but not what its tools did."""
    tag, thread = uuid.uuid4().hex[:6], (await client.threads.create())["thread_id"]
    first = await client.runs.create(thread, "plangate_test", input={**typed("run the slow plan"), "plan": slow_plan(tag)})
    await wait_for_effect(server, f"slow-start long-{tag}")
    second = await client.runs.create(thread, "plangate_test", input=typed("is the front door locked?"),
                                      multitask_strategy=strategy)
    done = await client.runs.join(thread, second["run_id"])
    answer = done["messages"][-1]["content"]
    assert answer.endswith("Front door lock is locked.")
    assert f"echo first-{tag}" in effects(server) and f"echo after-{tag}" not in effects(server)
    if strategy == "interrupt":
        assert (await client.runs.get(thread, first["run_id"]))["status"] == "interrupted"
        # Steps 1-3 were one wave (no wave barriers): step 1 ran, step 2 was cut off, step 3 never started. A new
        # input starts from the last checkpoint without the wave's saved results, so none is called "not run".
        assert answer.startswith(f"The earlier plan (slow {tag}) was closed without an answer; under way when it "
                                 "was closed, so it may have run: step 1 test.echo")
        assert "step 2 test.slow" in answer and "step 3 test.echo" in answer and "Not run" not in answer
    else:
        assert [m["type"] for m in done["messages"]] == ["human", "ai"]  # the first run is gone from the thread...
        assert "earlier plan" not in answer  # ...but its echo (a side effect) stays done
    assert server.blocking_errors() == []
