"""Per-user auth (graph/auth.py) on a real `langgraph dev --config langgraph.auth.json`.

API keys for alice and bob, and HS256 JWTs for anyone the secret signs. Each user only sees and changes
their own threads, runs and store items; no credentials means 401.
"""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest
from langgraph_sdk import get_client

from tests.integration.devserver import DevServer, langgraph_dev

pytestmark = pytest.mark.integration

KEYS = {"alice": f"ak-{uuid.uuid4().hex}", "bob": f"bk-{uuid.uuid4().hex}"}
JWT_SECRET = f"jwt-secret-{uuid.uuid4().hex}"
ISSUED: list[str] = []  # every token handed out, to check none of them reaches the log
PLAN_REQUEST = "set a timer for 5 minutes and then list my timers"


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> DevServer:
    keys = ",".join(f"{key}:{user}" for user, key in KEYS.items())
    with langgraph_dev(tmp_path_factory.mktemp("langgraph-auth"), "langgraph.auth.json",
                       env={"PLANGATE_API_KEYS": keys, "PLANGATE_JWT_SECRET": JWT_SECRET}) as running:
        yield running


def as_user(server: DevServer, name: str):
    return get_client(url=server.url, api_key=KEYS[name])


def token(sub: str | None, *, secret: str = JWT_SECRET, expires_in: int = 300, algorithm: str = "HS256") -> str:
    claims = {"exp": int(time.time()) + expires_in, **({"sub": sub} if sub else {})}
    encoded = jwt.encode(claims, secret, algorithm=algorithm)
    ISSUED.append(encoded)
    return encoded


def with_token(server: DevServer, encoded: str):
    return get_client(url=server.url, api_key=None, headers={"Authorization": f"Bearer {encoded}"})


def user(text: str) -> dict:
    return {"messages": [{"role": "user", "content": text}]}


async def status_of(call) -> int:
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await call
    return caught.value.response.status_code


async def graph_id(client) -> str:
    return (await client.assistants.search(graph_id="plangate"))[0]["assistant_id"]


@pytest.mark.parametrize("headers", [
    {},
    {"x-api-key": "not-a-key"},
    {"Authorization": "Bearer not-a-key"},
    {"Authorization": "Basic YWxpY2U6cGFzcw=="},
    {"x-auth-scheme": "langsmith"},  # the Studio shortcut is disabled in langgraph.auth.json
])
def test_requests_without_valid_credentials_get_401(server, headers):
    for method, path in (("POST", "/threads/search"), ("POST", "/assistants/search"), ("POST", "/threads")):
        response = httpx.request(method, f"{server.url}{path}", headers=headers, json={}, timeout=10)
        assert response.status_code == 401, (path, headers, response.text)
    assert httpx.get(f"{server.url}/ok", timeout=10).status_code == 200  # the health check stays open


async def test_a_user_cannot_list_read_run_or_delete_anothers_thread(server):
    alice, bob = as_user(server, "alice"), as_user(server, "bob")
    graph = await graph_id(alice)
    thread = await alice.threads.create()
    tid = thread["thread_id"]
    assert thread["metadata"]["owner"] == "alice"
    await alice.runs.wait(tid, graph, input=user("set a tea timer for 3 minutes"))

    assert tid in [t["thread_id"] for t in await alice.threads.search(limit=100)]
    assert tid not in [t["thread_id"] for t in await bob.threads.search(limit=100)]
    assert await status_of(bob.threads.get(tid)) == 404
    assert await status_of(bob.threads.get_state(tid)) in (403, 404)
    assert await status_of(bob.threads.get_history(tid)) in (403, 404)
    assert await status_of(bob.runs.list(tid)) in (403, 404)
    assert await status_of(bob.runs.wait(tid, graph, input=user("list my timers"))) in (403, 404)
    assert await status_of(bob.threads.update(tid, metadata={"owner": "bob"})) in (403, 404)
    assert await status_of(bob.threads.delete(tid)) in (403, 404)

    still = await alice.threads.get(tid)
    assert still["metadata"]["owner"] == "alice" and len(await alice.runs.list(tid)) == 1
    await alice.threads.delete(tid)
    assert await status_of(alice.threads.get(tid)) == 404


async def test_only_the_owner_can_resume_an_interrupted_thread(server):
    alice, bob = as_user(server, "alice"), as_user(server, "bob")
    graph = await graph_id(alice)
    thread = await alice.threads.create()
    tid, ctx = thread["thread_id"], {"approve_plans": True}
    await alice.runs.wait(tid, graph, input=user(PLAN_REQUEST), context=ctx)
    assert (await alice.threads.get_state(tid))["next"] == ["approve_plan"]

    assert await status_of(bob.runs.wait(tid, graph, command={"resume": "approve"}, context=ctx)) in (403, 404)
    assert (await alice.threads.get_state(tid))["next"] == ["approve_plan"]  # bob changed nothing

    done = await alice.runs.wait(tid, graph, command={"resume": "approve"}, context=ctx)
    assert [done["step_results"][k]["status"] for k in ("1", "2")] == ["completed", "completed"]


async def test_the_graph_runs_as_the_caller_whatever_user_id_is_sent(server):
    alice, bob = as_user(server, "alice"), as_user(server, "bob")
    graph = await graph_id(alice)
    label = f"tag{uuid.uuid4().hex[:6]}"
    await alice.runs.wait(None, graph, input=user(f"set a {label} timer for 3 minutes"), context={"user_id": "bob"})
    mine = await alice.store.search_items(("plangate", "timers", "alice"), limit=100)
    assert label in [item["value"]["label"] for item in mine["items"]]
    bobs = await bob.store.search_items(("plangate", "timers", "bob"), limit=100)
    assert label not in [item["value"]["label"] for item in bobs["items"]]


async def test_store_items_belong_to_their_user(server):
    alice, bob = as_user(server, "alice"), as_user(server, "bob")
    await alice.store.put_item(("plangate", "notes", "alice"), "n1", {"text": "alice's note"})
    await alice.store.put_item(("plangate", "scratch", "alice", "deeper"), "n2", {"text": "also alice's"})
    assert (await alice.store.get_item(("plangate", "notes", "alice"), "n1"))["value"]["text"] == "alice's note"
    assert await status_of(bob.store.get_item(("plangate", "notes", "alice"), "n1")) == 403
    assert await status_of(bob.store.put_item(("plangate", "notes", "alice"), "n1", {"text": "bob was here"})) == 403
    assert await status_of(bob.store.delete_item(("plangate", "scratch", "alice", "deeper"), "n2")) == 403
    assert await status_of(alice.store.put_item(("alice", "scratch"), "n3", {"text": "outside plangate/KIND/USER"})) == 403
    assert await status_of(bob.store.search_items(("plangate",))) == 403
    assert await status_of(bob.store.list_namespaces()) == 403
    assert (await alice.store.get_item(("plangate", "notes", "alice"), "n1"))["value"]["text"] == "alice's note"


async def test_jwt_users(server):
    carol = with_token(server, token("carol"))
    graph = await graph_id(carol)
    thread = await carol.threads.create()
    await carol.runs.wait(thread["thread_id"], graph, input=user("set a tea timer for 3 minutes"))
    assert [t["metadata"]["owner"] for t in await carol.threads.search(limit=100)] == ["carol"]
    assert await status_of(as_user(server, "alice").threads.get(thread["thread_id"])) == 404

    for bad in (token("carol", expires_in=-60), token("carol", secret="wrong-secret-wrong-secret-wrong!"), token(None)):
        assert await status_of(with_token(server, bad).threads.search()) == 401
    unsigned = jwt.encode({"sub": "carol", "exp": int(time.time()) + 300}, None, algorithm="none")
    ISSUED.append(unsigned)
    assert await status_of(with_token(server, unsigned).threads.search()) == 401


async def test_assistants_are_shared_but_not_writable(server):
    alice, bob = as_user(server, "alice"), as_user(server, "bob")
    assert await graph_id(alice) == await graph_id(bob)
    schemas = await bob.assistants.get_schemas(await graph_id(bob))
    assert "user_id" in schemas["context_schema"]["properties"]
    assert await status_of(bob.assistants.delete(await graph_id(bob))) in (403, 404)
    assert await graph_id(alice)  # still there


def test_secrets_never_reach_the_log(server):
    log = server.log_text()
    assert "POST /threads/search 401" in log and "Using custom authentication" in log  # requests were logged
    for secret in (*KEYS.values(), JWT_SECRET, *ISSUED):
        assert secret not in log
    assert server.blocking_errors() == []
