"""Model handling: endpoint profiles, structured-output methods, served-model discovery, and what happens
when a weak model answers badly (validation, bounded repairs, then the rules for that one decision).

OpenAI-compatible behaviour is checked against a tiny fake server on 127.0.0.1 that records every
request body, so the tests see exactly what a llama.cpp-class server would receive.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai import ChatOpenAI

from plangate import Context
from plangate.graph.engine.plan import PlanDraft
from plangate.graph.io import BLOCKING, run_blocking
from plangate.graph.models.endpoint import pick_served
from plangate.graph.models.structured import Usage, ask_structured, repair_turn, tool_spec
from plangate.graph.models.tiers import chat_model, endpoint_profile, max_output_tokens, structured_method
from plangate.graph.offline.chat_model import OfflineRulesModel
from plangate.tools.registry import build_registry
from tests import scripted
from tests.helpers import Recorder, config, make_graph, user

Responder = Callable[[dict[str, Any]], dict[str, Any]]


class FakeServer:
    """An OpenAI-compatible /v1 on loopback: lists `models`, answers chat requests with `responder(body)`."""

    def __init__(self, responder: Responder, models: list[str]) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.model_lists = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                fake.model_lists += 1
                self._send({"object": "list", "data": [{"id": m, "object": "model"} for m in models]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.bodies.append(body)
                message = {"role": "assistant", "content": None, **responder(body)}
                self._send({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                            "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10}})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake() -> Iterator[Callable[..., FakeServer]]:
    servers: list[FakeServer] = []

    def start(responder: Responder, models: tuple[str, ...] = ("smollm2",)) -> FakeServer:
        servers.append(FakeServer(responder, list(models)))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"tool_calls": [{"id": "c1", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}]}


def text(content: str) -> dict[str, Any]:
    return {"content": content}


def forced_name(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    return choice["function"]["name"] if isinstance(choice, dict) else choice


# --- endpoints -----------------------------------------------------------------------------------------------


def test_each_endpoint_kind_gets_its_profile() -> None:
    assert endpoint_profile(OfflineRulesModel(registry=build_registry())).kind == "offline"
    openai = endpoint_profile(ChatOpenAI(model="gpt-4o-mini", api_key="k"))
    local = endpoint_profile(ChatOpenAI(model="m", api_key="k", base_url="http://127.0.0.1:8080/v1"))
    custom = endpoint_profile(scripted.ScriptedChatModel())
    assert (openai.kind, openai.any_tool_choice) == ("openai", True)
    assert (local.kind, local.any_tool_choice) == ("compatible", False)  # llama.cpp ignores "required"
    assert (custom.kind, custom.any_tool_choice) == ("custom", True)


def test_structured_method_auto_is_per_endpoint_and_an_explicit_one_wins() -> None:
    local = ChatOpenAI(model="m", api_key="k", base_url="http://127.0.0.1:8080/v1")
    assert structured_method("auto", local) == "function_calling"
    assert structured_method("json_mode", local) == "json_mode"
    assert structured_method("json_schema", scripted.ScriptedChatModel()) == "json_schema"
    assert structured_method("json_schema", OfflineRulesModel()) == "function_calling"  # the rules answer by tool name


def test_output_cap_defaults_on_custom_endpoints_and_follows_the_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert max_output_tokens("http://127.0.0.1:8080/v1") == 1024 and max_output_tokens(None) is None
    assert max_output_tokens("https://api.openai.com/v1") is None
    monkeypatch.setenv("PLANGATE_MAX_TOKENS", "300")
    assert max_output_tokens(None) == 300
    monkeypatch.setenv("PLANGATE_MAX_TOKENS", "0")
    assert max_output_tokens("http://127.0.0.1:8080/v1") is None
    monkeypatch.setenv("PLANGATE_MAX_TOKENS", "lots")
    with pytest.raises(ValueError, match="PLANGATE_MAX_TOKENS"):
        max_output_tokens(None)


def test_pick_served_replaces_only_an_unserved_name_on_a_single_model_server() -> None:
    assert pick_served("gpt-4o", ["smollm2"]) == "smollm2"
    assert pick_served("smollm2", ["smollm2", "other"]) == "smollm2"
    assert pick_served("gpt-4o", ["a", "b"]) == "gpt-4o"  # ambiguous: the server will say what is wrong
    assert pick_served("gpt-4o", []) == "gpt-4o"  # /models unavailable


async def test_the_served_model_name_is_sent_sync_and_async(fake: Callable[..., FakeServer]) -> None:
    server = fake(lambda body: text("hello"))
    model = chat_model(Context(base_url=server.url, weak_model="gpt-4o-mini"), "weak")
    assert model.invoke("hi").content == "hello"
    assert (await model.ainvoke("hi")).content == "hello"
    assert [b["model"] for b in server.bodies] == ["smollm2", "smollm2"]
    assert server.model_lists == 1  # looked up once per endpoint and name
    assert server.bodies[0]["max_tokens"] == 1024 and server.bodies[0]["temperature"] == 0


# --- structured output -----------------------------------------------------------------------------------------


def test_tool_spec_is_grammar_friendly_and_constrains_choices() -> None:
    spec = tool_spec(PlanDraft, {"tool": ["timer.set_timer", "weather.forecast"]})
    step = spec["function"]["parameters"]["properties"]["steps"]["items"]["properties"]
    assert step["tool"]["enum"] == ["timer.set_timer", "weather.forecast"]
    condition = next(s for s in step["condition"]["anyOf"] if s.get("type") == "object")
    assert isinstance(condition["properties"]["value"]["type"], list)  # an untyped field gets explicit JSON types
    assert "enum" not in tool_spec(PlanDraft)["function"]["parameters"]["properties"]["steps"]["items"]["properties"]["tool"]


def _ask(model: Any, method: str, schema: type = PlanDraft, **kwargs: Any) -> tuple[Any, Usage]:
    usage = Usage()
    asked = ask_structured(BLOCKING, model, [HumanMessage("set a timer")], schema, usage, max_repairs=1, method=method, **kwargs)
    return run_blocking(asked), usage


GOOD_PLAN = {"goal": "g", "steps": [{"id": 1, "tool": "timer.set_timer", "args": {"duration_s": 60}}]}


def test_function_calling_forces_the_named_schema_tool(fake: Callable[..., FakeServer]) -> None:
    server = fake(lambda body: call("PlanDraft", GOOD_PLAN))
    plan, usage = _ask(chat_model(Context(base_url=server.url), "strong"), "auto", choices={"tool": ["timer.set_timer"]})
    body = server.bodies[0]
    assert plan.steps[0].tool == "timer.set_timer" and usage.llm_calls == 1
    assert forced_name(body) == "PlanDraft" and "response_format" not in body
    assert body["tools"][0]["function"]["parameters"]["properties"]["steps"]["items"]["properties"]["tool"]["enum"] == ["timer.set_timer"]


def test_json_mode_asks_for_a_json_object_and_parses_the_text(fake: Callable[..., FakeServer]) -> None:
    server = fake(lambda body: text("Here you go:\n```json\n" + json.dumps(GOOD_PLAN) + "\n```"))
    plan, _ = _ask(chat_model(Context(base_url=server.url), "strong"), "json_mode")
    body = server.bodies[0]
    assert plan.goal == "g" and "tools" not in body
    assert body["response_format"]["type"] == "json_object"
    assert body["response_format"]["schema"]["required"] == ["goal", "steps"]  # llama.cpp's grammar extension
    assert "JSON schema" in body["messages"][-1]["content"]


def test_json_schema_sends_the_schema_as_response_format(fake: Callable[..., FakeServer]) -> None:
    server = fake(lambda body: text(json.dumps(GOOD_PLAN)))
    plan, _ = _ask(chat_model(Context(base_url=server.url), "strong"), "json_schema")
    fmt = server.bodies[0]["response_format"]
    assert plan.goal == "g" and fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "PlanDraft"


def test_repairs_on_a_compatible_server_replay_the_call_as_text(fake: Callable[..., FakeServer]) -> None:
    replies = iter([call("PlanDraft", {"goal": "g", "steps": [{"id": 1}]}), call("PlanDraft", GOOD_PLAN)])
    server = fake(lambda body: next(replies))
    plan, usage = _ask(chat_model(Context(base_url=server.url), "strong"), "function_calling")
    assert plan.steps and usage.repairs == 1
    retry = server.bodies[1]["messages"]
    assert retry[-2]["role"] == "assistant" and '"steps": [{"id": 1}]' in retry[-2]["content"]  # never content=null
    assert retry[-1]["role"] == "user" and "was invalid" in retry[-1]["content"]


def test_repair_turn_keeps_tool_messages_for_openai_style_endpoints() -> None:
    reply = scripted.tool_call("PlanDraft", {"goal": "g"})
    tool_style = repair_turn(reply, "PlanDraft", "bad", textual=False)
    assert tool_style[0] is reply and tool_style[1].type == "tool" and tool_style[1].tool_call_id == reply.tool_calls[0]["id"]
    prose = repair_turn(AIMessage(content="no idea"), "PlanDraft", "bad", textual=True)
    assert [m.type for m in prose] == ["ai", "human"] and prose[0].content == "no idea"


def test_context_structured_method_changes_what_the_graph_sends(fake: Callable[..., FakeServer], monkeypatch: pytest.MonkeyPatch) -> None:
    def respond(body: dict[str, Any]) -> dict[str, Any]:
        if body.get("response_format"):
            return text(json.dumps({"goal": "timers", "steps": [{"id": 1, "tool": "timer.list_timers", "args": {}}]}))
        return text("You have no timers.")

    server = fake(respond)
    monkeypatch.setenv("PLANGATE_STRUCTURED_METHOD", "json_mode")
    ctx = Context.from_env(base_url=server.url, router_mode="rules", plan_library=False)
    graph, cfg = make_graph(), config()
    out = graph.invoke(user("list my timers and then list my timers again"), cfg, context=ctx)
    planner = next(b for b in server.bodies if b.get("response_format"))
    assert planner["response_format"]["type"] == "json_object" and "tools" not in planner
    assert graph.get_state(cfg).values["plan_source"] == "planner" and out["step_results"][1]["status"] == "completed"


# --- weak models: validation, repairs, then the rules --------------------------------------------------------


def test_planner_falls_back_to_the_rules_plan_when_the_model_is_down() -> None:
    strong = scripted.ScriptedChatModel(default=ConnectionError("connection refused"))
    weak = scripted.ScriptedChatModel(default=scripted.route("plan", "timer", 0.99))
    models = {"weak": weak, "strong": strong, "default": scripted.ScriptedChatModel(default="done")}
    out = make_graph(models=models).invoke(
        user("set a timer for 5 minutes and then list my timers"), config(), context=Context(router_mode="llm", plan_library=False))
    assert [s["tool"] for s in out["plan"]["steps"]] == ["timer.set_timer", "timer.list_timers"]
    assert out["metrics"]["fallbacks"] == ["planner_rules_fallback"] and "ConnectionError" in out["route_reason"]
    assert all(r["status"] == "completed" for r in out["step_results"].values())


def test_router_and_planner_fallbacks_are_both_recorded() -> None:
    junk = scripted.tool_call("RouteDecision", {"route": "maybe", "domain": "timer", "confidence": 7})
    bad_plan = scripted.plan([{"id": 1, "tool": "timer.explode", "args": {}}])
    models = {"weak": scripted.ScriptedChatModel(default=junk), "strong": scripted.ScriptedChatModel(default=bad_plan),
              "default": scripted.ScriptedChatModel(default="done")}
    ctx = Context(router_mode="llm", max_repairs=1, plan_library=False)
    out = make_graph(models=models).invoke(user("set a timer for 5 minutes and then list my timers"), config(), context=ctx)
    assert len(models["weak"].calls) == 2 and len(models["strong"].calls) == 2  # 1 + 1 repair each, no more
    assert out["metrics"]["fallbacks"] == ["router_rules_fallback", "planner_rules_fallback"]
    assert "timer.explode" in out["route_reason"] and "rules fallback: the rules planned it" in out["route_reason"]


def test_when_the_rules_find_no_plan_either_the_run_ends_with_the_problems() -> None:
    bad_plan = scripted.plan([{"id": 1, "tool": "test.nope", "args": {}}])
    models = {"weak": scripted.ScriptedChatModel(default=scripted.route("plan", "test", 0.99)),
              "strong": scripted.ScriptedChatModel(default=bad_plan), "default": scripted.ScriptedChatModel(default="x")}
    graph = make_graph(models=models, tools={"test": Recorder().tools}, include_builtin_tools=False)
    out = graph.invoke(user("do something vague"), config(), context=Context(router_mode="llm", plan_library=False))
    assert "couldn't make a valid plan" in out["messages"][-1].content and "test.nope" in out["messages"][-1].content
    assert out["error"] and out.get("step_results") in (None, {}) and len(models["strong"].calls) == 3


def _fast(reply: Any, request: str = "set a timer for 10 minutes") -> tuple[dict[str, Any], scripted.ScriptedChatModel]:
    weak = scripted.ScriptedChatModel(replies=[reply])
    out = make_graph(models={"weak": weak}).invoke(user(request), config(), context=Context(plan_library=False))
    assert out["route"] == "fast" and len(weak.calls) == 1
    return out, weak


@pytest.mark.parametrize(
    ("reply", "note"),
    [
        (AIMessage(content="Sure, I'll set that timer for you!"), "fast_tool_rules_fallback"),  # prose
        (AIMessage(content='{"name": "shell__rm", "arguments": {"path": "/"}}'), "fast_tool_rules_fallback"),  # unknown tool
        (ConnectionError("down"), "fast_model_failed_rules_fallback"),
        (scripted.tool_call("timer__set_timer", {"duration_s": "ten"}), "fast_args_rules_fallback"),  # fails validation
        (scripted.tool_call("timer__set_timer", {"at": "2026-11-23T17:59+00:00.S"}), "fast_args_rules_fallback"),  # tool refuses
    ],
)
def test_fast_path_falls_back_to_the_rules_call(reply: Any, note: str) -> None:
    out, _ = _fast(reply)
    assert out["step_results"][1]["status"] == "completed" and "10 min" in out["messages"][-1].content
    assert [f.split(":")[0] for f in out["metrics"]["fallbacks"]] == [note] and note in out["route_reason"]


def test_fast_path_takes_a_valid_model_call_as_is() -> None:
    out, weak = _fast(scripted.tool_call("timer__set_timer", {"duration_s": 600, "label": "pasta"}))
    assert "fallbacks" not in out["metrics"] and "pasta" in out["messages"][-1].content.lower()
    assert weak.calls[0]["tool_choice"] == "any" and len(weak.calls[0]["tools"]) > 1  # generic models choose


def test_fast_path_on_a_compatible_server_forces_the_tool_the_rules_pick(fake: Callable[..., FakeServer]) -> None:
    server = fake(lambda body: call(body["tools"][0]["function"]["name"], {}))
    out = make_graph().invoke(user("list my timers"), config(), context=Context(base_url=server.url, plan_library=False))
    body = server.bodies[0]
    assert forced_name(body) == "timer__list_timers" and [t["function"]["name"] for t in body["tools"]] == ["timer__list_timers"]
    assert body["max_tokens"] == 256  # a small answer gets a small cap, so a looping model stops early
    assert out["route"] == "fast" and out["step_results"][1]["status"] == "completed"
