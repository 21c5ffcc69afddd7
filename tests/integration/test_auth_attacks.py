"""A hostile second user on `make serve-auth` (issue 13, rows 1-4), through a real `langgraph dev` and the SDK.

The server has a key for its model endpoint (a loopback fake that records every Authorization header). A
second fake plays the attacker's model server: it must never see the server's key, nor any request at all.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest
from langgraph_sdk import get_client

from plangate.tools.runtime import user_label
from tests.integration.devserver import DevServer, langgraph_dev
from tests.reliability.fake_openai import Fail, FakeOpenAI, Message, forced_tool, text, tool_reply

pytestmark = pytest.mark.integration

KEYS = {"alice": f"ak-{uuid.uuid4().hex}", "bob": f"bk-{uuid.uuid4().hex}"}
JWT_SECRET = f"jwt-secret-{uuid.uuid4().hex}"
SERVER_KEY = f"sk-server-{uuid.uuid4().hex}"
TIMER_REQUEST = "set a tea timer for 3 minutes"
UGLY_IDS = ["carol@example.com", "alice.smith", "dept/ops\\team", "zoë 日本", "  spaced  out ", "100%.sure",
            "plangate", "a.b.c.d.e", "tab\tand\nnewline", "..", "%2E", "x" * 200]


def timer_plan(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Set the labelled timer the request names, then list the timers when it asks to."""
    request = " ".join(str(m.get("content")) for m in body.get("messages", []) if m.get("role") == "user")
    found = re.search(r"set an? (\w+) timer", request)
    if "cancel" in request:  # a step that fails, so the replanner is asked
        return [{"id": 1, "tool": "timer.cancel_timer", "args": {"label": "ghost"}}]
    steps = [{"id": 1, "tool": "timer.set_timer", "args": {"duration_s": 180, "label": found.group(1) if found else "tea"}}]
    if "list my timers" in request:
        steps.append({"id": 2, "tool": "timer.list_timers", "args": {}, "depends_on": [1]})
    return steps


def timer_responder(body: dict[str, Any]) -> Message:
    """A well-behaved endpoint: plan the timer steps, then summarize."""
    name = forced_tool(body)
    if name == "RouteDecision":
        return tool_reply(name, {"route": "plan", "domain": "timer", "confidence": 0.99, "reasoning": "fake"})
    if name == "PlanDraft":
        return tool_reply(name, {"goal": "timers", "reasoning": "fake", "steps": timer_plan(body)})
    if name == "ReplanDecision":
        return tool_reply(name, {"action": "finish", "reasoning": "fake", "steps": []})
    if name or body.get("tools"):
        return tool_reply(name or "timer__set_timer", {"duration_s": 180, "label": "tea"})
    return text("tea timer set")


@pytest.fixture(scope="module")
def endpoints():
    with FakeOpenAI(responder=timer_responder) as legit, FakeOpenAI(responder=timer_responder) as evil:
        yield legit, evil


@pytest.fixture(scope="module")
def server(tmp_path_factory, endpoints) -> DevServer:
    legit, _evil = endpoints
    keys = ",".join(f"{key}:{user}" for user, key in KEYS.items())
    env = {"PLANGATE_API_KEYS": keys, "PLANGATE_JWT_SECRET": JWT_SECRET, "OPENAI_API_KEY": SERVER_KEY,
           "PLANGATE_BASE_URL": legit.base_url, "PLANGATE_MODEL_TIMEOUT_S": "5", "PLANGATE_MODEL_MAX_RETRIES": "0"}
    with langgraph_dev(tmp_path_factory.mktemp("langgraph-attacks"), "langgraph.auth.json", env=env) as running:
        yield running


def as_user(server: DevServer, name: str):
    return get_client(url=server.url, api_key=KEYS[name])


def as_sub(server: DevServer, sub: str):
    encoded = jwt.encode({"sub": sub, "exp": int(time.time()) + 600}, JWT_SECRET, algorithm="HS256")
    return get_client(url=server.url, api_key=None, headers={"Authorization": f"Bearer {encoded}"})


def user(content: str) -> dict:
    return {"messages": [{"role": "user", "content": content}]}


async def status_of(call) -> int:
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await call
    return caught.value.response.status_code


async def system_assistant(client) -> str:
    found = await client.assistants.search(graph_id="plangate", metadata={"created_by": "system"})
    return found[0]["assistant_id"]


def authorizations(fake: FakeOpenAI) -> list[str]:
    return [next((v for k, v in r["headers"].items() if k.lower() == "authorization"), "") for r in fake.requests]


async def test_row1_a_caller_cannot_point_the_server_at_their_own_model_server(server, endpoints):
    legit, evil = endpoints
    alice = as_user(server, "alice")
    graph = await system_assistant(alice)
    for context in ({"base_url": evil.base_url, "router_mode": "llm"}, {"strong_model": "attacker-model"},
                    {"structured_method": "json_mode"}):
        assert await status_of(alice.runs.wait(None, graph, input=user(TIMER_REQUEST), context=context)) == 403
    assert await status_of(alice.runs.wait(None, graph, input=user(TIMER_REQUEST),
                                           config={"configurable": {"base_url": evil.base_url}})) == 403
    # the same request without endpoint settings runs on the operator's endpoint, with the operator's key
    done = await alice.runs.wait(None, graph, input=user(TIMER_REQUEST), context={"router_mode": "llm"})
    assert done["step_results"]["1"]["status"] == "completed"
    assert evil.requests == []
    assert legit.requests and set(authorizations(legit)) == {f"Bearer {SERVER_KEY}"}


async def test_row1_a_cron_cannot_carry_an_endpoint_either(server, endpoints):
    _legit, evil = endpoints
    bob = as_user(server, "bob")
    graph = await system_assistant(bob)
    assert await status_of(bob.crons.create(graph, schedule="0 0 1 1 *", input=user(TIMER_REQUEST),
                                            context={"base_url": evil.base_url})) == 403
    assert evil.requests == []


async def test_row2_an_assistant_planted_by_bob_is_invisible_to_alice_and_carries_no_endpoint(server, endpoints):
    _legit, evil = endpoints
    alice, bob = as_user(server, "alice"), as_user(server, "bob")
    assert await status_of(bob.assistants.create("plangate", context={"base_url": evil.base_url}, name="plangate")) == 403
    planted = await bob.assistants.create("plangate", context={"router_mode": "llm"}, name="plangate",
                                          metadata={"created_by": "system"})
    assert planted["metadata"].get("created_by") != "system" and planted["metadata"]["owner"] == "bob"
    assert await status_of(bob.assistants.update(planted["assistant_id"], context={"base_url": evil.base_url})) == 403

    seen_by_alice = [a["assistant_id"] for a in await alice.assistants.search(graph_id="plangate", limit=100)]
    assert planted["assistant_id"] not in seen_by_alice and len(seen_by_alice) == 1
    assert seen_by_alice[0] == await system_assistant(alice)
    assert planted["assistant_id"] in [a["assistant_id"] for a in await bob.assistants.search(graph_id="plangate")]
    assert await status_of(alice.assistants.get(planted["assistant_id"])) == 404
    assert await status_of(alice.runs.wait(None, planted["assistant_id"], input=user(TIMER_REQUEST))) == 404
    assert evil.requests == []


async def test_row3_a_user_called_plangate_reads_nobody_elses_store_items(server):
    alice, mallory = as_user(server, "alice"), as_sub(server, "plangate")
    await alice.store.put_item(("plangate", "notes", "alice"), "secret", {"text": "alice's diary"})
    assert await status_of(mallory.store.search_items(("plangate",))) == 403
    assert await status_of(mallory.store.search_items(("plangate", "notes", "alice"))) == 403
    assert await status_of(mallory.store.get_item(("plangate", "notes", "alice"), "secret")) == 403
    assert await status_of(mallory.store.list_namespaces(prefix=["plangate"])) == 403
    await mallory.store.put_item(("plangate", "notes", "plangate"), "own", {"text": "mine"})  # their own still works
    assert (await mallory.store.get_item(("plangate", "notes", "plangate"), "own"))["value"]["text"] == "mine"
    assert (await alice.store.get_item(("plangate", "notes", "alice"), "secret"))["value"]["text"] == "alice's diary"


@pytest.mark.parametrize("sub", UGLY_IDS)
async def test_row4_any_jwt_subject_runs_plans_and_owns_its_timers(server, sub):
    client = as_sub(server, sub)
    graph = await system_assistant(client)
    label = f"tag{uuid.uuid4().hex[:6]}"
    done = await client.runs.wait(None, graph, input=user(f"set a {label} timer for 5 minutes and then list my timers"))
    assert [done["step_results"][k]["status"] for k in ("1", "2")] == ["completed", "completed"], done.get("error")
    mine = await client.store.search_items(("plangate", "timers", user_label(sub)), limit=100)
    assert label in [item["value"]["label"] for item in mine["items"]]
    assert await status_of(as_user(server, "bob").store.search_items(("plangate", "timers", user_label(sub)))) == 403


async def test_row5_an_endpoint_echoing_the_key_in_a_500_does_not_put_it_in_the_server_log(server, endpoints):
    legit, _evil = endpoints
    echo = f'{{"error": {{"message": "Incorrect API key provided: {SERVER_KEY}", "type": "server_error"}}}}'
    legit.push_for("ReplanDecision", *[Fail(500, body=echo)] * 6)
    alice = as_user(server, "alice")
    done = await alice.runs.wait(None, await system_assistant(alice), input=user("cancel my ghost timer"),
                                 context={"router_mode": "llm"}, raise_error=False)
    assert "[redacted]" in str(done) + server.log_text()  # the echo came back, masked
    assert legit.kinds().count("ReplanDecision") >= 2  # retried by LangGraph's RetryPolicy (which logs the chain)
    assert SERVER_KEY not in server.log_text() and SERVER_KEY not in str(done)


def test_the_server_key_never_reaches_the_log(server):
    assert SERVER_KEY not in server.log_text()
