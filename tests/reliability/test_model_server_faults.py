"""Model server faults through real ChatOpenAI over HTTP: retried when they can pass, bounded, never a lost thread.

Context: model_max_retries=1 (the client tries each request twice, with backoff), model_timeout_s=0.3.
What happens after the retries: the router, fast path, planner and summarizer fall back to the offline
rules (recorded in route_reason / metrics["fallbacks"]); the replanner retries once more as a node
(MODEL_RETRY, only for errors that can pass) and then raises, leaving the thread resumable.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.helpers import Recorder, config, make_graph, user
from tests.reliability.conftest import endpoint_context, plangate_responder
from tests.reliability.crashkit import PLANGATE
from tests.reliability.fake_openai import CutStream, EmptyChoices, Fail, Hang, Malformed, Reply, tool_reply

REQUEST = "set a timer for 10 minutes and then list my timers"  # the rules can plan this one too
UNUSABLE = [Fail(500), Fail(503), Fail(429, {"retry-after-ms": "20"}), Hang(5), Malformed(), EmptyChoices(),
            Fail(400), Fail(401), Fail(404)]
UNUSABLE_IDS = ["500", "503", "429", "hang", "malformed-json", "empty-choices", "400", "401", "404"]
# requests the client makes for one call: it retries 429, 5xx and timeouts, never 4xx or a 200 it cannot parse
ATTEMPTS = {"500": 2, "503": 2, "429": 2, "hang": 2, "malformed-json": 1, "empty-choices": 1, "400": 1, "401": 1, "404": 1}


def _graph(recorder: Recorder | None = None):
    return make_graph(tools={"test": (recorder or Recorder()).tools})


def _tool_choice(request: dict) -> str | None:
    return ((request["body"].get("tool_choice") or {}).get("function") or {}).get("name")


def test_rate_limit_retry_after_is_honoured(server):
    server.push_for("RouteDecision", Fail(429, {"Retry-After": "1"}))
    out = _graph().invoke(user("do it"), config(), context=endpoint_context(server))
    routes = [r for r in server.requests if _tool_choice(r) == "RouteDecision"]
    assert len(routes) == 2 and routes[1]["t"] - routes[0]["t"] >= 0.9  # waited as the server said
    assert out["route_reason"].startswith("weak model") and out["messages"][-1].content == "final summary"
    assert server.kinds() == ["RouteDecision", "RouteDecision", "PlanDraft", "text"]


@pytest.mark.parametrize("fault", [Fail(500), Fail(503), Fail(429), Hang(5)], ids=["500", "503", "429", "hang"])
def test_one_transient_failure_is_retried_and_passes(server, fault):
    server.push_for("PlanDraft", fault)
    graph, cfg = _graph(), config()
    out = graph.invoke(user(REQUEST), cfg, context=endpoint_context(server))
    assert server.kinds().count("PlanDraft") == 2
    assert graph.get_state(cfg).values["plan_source"] == "planner" and out["plan"]["steps"][0]["tool"] == "test.echo"  # the model's plan
    assert out["messages"][-1].content == "final summary"


@pytest.mark.parametrize("fault", UNUSABLE, ids=UNUSABLE_IDS)
def test_planner_that_keeps_failing_falls_back_to_the_rules_plan(server, fault):
    server.push_for("PlanDraft", *[fault] * 4)
    graph, cfg = _graph(), config()
    out = graph.invoke(user(REQUEST), cfg, context=endpoint_context(server))
    assert server.kinds().count("PlanDraft") == ATTEMPTS[UNUSABLE_IDS[UNUSABLE.index(fault)]]  # bounded
    assert graph.get_state(cfg).values["plan_source"] == "rules"
    assert [s["tool"] for s in out["plan"]["steps"]] == ["timer.set_timer", "timer.list_timers"]
    assert "planner: model failed" in out["route_reason"] and "planner_rules_fallback" in out["metrics"]["fallbacks"]
    assert all(r["status"] == "completed" for r in out["step_results"].values()) and not out.get("error")
    assert graph.get_state(cfg).next == ()


def test_cut_off_stream_is_bounded_and_still_answers(server):
    server.push_for("PlanDraft", CutStream(), CutStream())
    graph, cfg = _graph(), config()
    chunks = list(graph.stream(user(REQUEST), cfg, context=endpoint_context(server), stream_mode=["messages", "updates"]))
    assert any(mode == "messages" for mode, _ in chunks)  # the model calls really streamed
    assert all(r["body"].get("stream") for r in server.requests if r["path"].endswith("/chat/completions"))
    values = graph.get_state(cfg).values
    assert server.kinds().count("PlanDraft") == 1 and values["plan_source"] == "rules"
    assert values["messages"][-1].content == "final summary"


def test_cut_off_stream_in_the_summarizer_still_answers(server):
    server.push_for("text", CutStream(), CutStream())
    graph, cfg = _graph(), config()
    list(graph.stream(user("do it"), cfg, context=endpoint_context(server), stream_mode=["messages", "updates"]))
    values = graph.get_state(cfg).values
    assert "echo: a" in values["messages"][-1].content  # the rules wrote it
    assert any("summarizer_rules_fallback" in n for n in values["metrics"]["fallbacks"])


def test_router_down_falls_back_to_the_rules(server):
    server.push_for("RouteDecision", *[Fail(500)] * 10)
    out = _graph().invoke(user(REQUEST), config(), context=endpoint_context(server))
    assert "rules fallback" in out["route_reason"] and out["route"] == "plan"
    assert server.kinds().count("RouteDecision") == 2  # the rules are sure it is a plan: no escalation
    assert out["messages"][-1].content == "final summary"


def test_summarizer_down_the_rules_write_the_answer(server):
    server.push_for("text", *[Fail(503)] * 4)
    out = _graph().invoke(user("do it"), config(), context=endpoint_context(server))
    assert server.kinds().count("text") == 2 and "echo: a" in out["messages"][-1].content
    assert any("summarizer_rules_fallback" in n for n in out["metrics"]["fallbacks"])


def test_fast_path_model_down_uses_the_rules_call(server, monkeypatch):
    monkeypatch.setenv("PLANGATE_BASE_URL", server.base_url)  # the env route, not Context.base_url
    recorder = Recorder()
    server.push_for("RouteDecision", Reply(tool_reply("RouteDecision", {"route": "fast", "domain": "timer", "confidence": 0.99})))
    server.push_for("timer__set_timer", *[Fail(500)] * 2)
    graph, cfg = _graph(recorder), config()
    out = graph.invoke(user("set a timer for 10 minutes"), cfg, context=endpoint_context(server, base_url=""))
    assert out["route"] == "fast" and server.kinds().count("timer__set_timer") == 2
    assert "10 min" in out["messages"][-1].content and "fast_model_failed" in out["route_reason"]


def _broken_plan(fallback):
    def respond(body):
        if ((body.get("tool_choice") or {}).get("function") or {}).get("name") == "PlanDraft":
            return tool_reply("PlanDraft", {"goal": "g", "steps": [{"id": 1, "tool": "test.broken", "args": {"text": "x"}}]})
        return fallback(body)

    return respond


def test_replanner_down_is_a_clear_error_and_the_thread_resumes(server):
    recorder = Recorder()
    server.responder = _broken_plan(server.responder)
    server.push_for("ReplanDecision", *[Fail(502)] * 4)
    graph, cfg, ctx = _graph(recorder), config(), endpoint_context(server)
    with pytest.raises(Exception, match="502"):
        graph.invoke(user("do it"), cfg, context=ctx)
    assert graph.get_state(cfg).next == ("replanner",)
    assert server.kinds().count("ReplanDecision") == 4  # bounded: 2 client attempts x 2 node attempts
    out = graph.invoke(None, cfg, context=ctx)  # the server behaves again
    assert out["step_results"][1]["status"] == "failed" and out["messages"][-1].content == "final summary"
    assert recorder.names() == ["broken"]  # the failed step was not run again on resume


@pytest.mark.parametrize("status", [400, 401, 404])
def test_replanner_errors_that_cannot_pass_finish_the_plan_without_retrying(server, status):
    server.responder = _broken_plan(server.responder)
    server.push_for("ReplanDecision", *[Fail(status)] * 4)
    graph, cfg = _graph(), config()
    out = graph.invoke(user("do it"), cfg, context=endpoint_context(server))
    assert server.kinds().count("ReplanDecision") == 1 and graph.get_state(cfg).next == ()
    history = graph.get_state(cfg).values["plan_history"]
    assert history[-1]["action"] == "finish" and str(status) in history[-1]["reasoning"]
    assert out["step_results"][1]["status"] == "failed" and out["messages"][-1].content


def test_cli_model_failure_names_the_thread_and_resume_finishes(server, tmp_path):
    steps = [{"id": 1, "tool": "timer.cancel_timer", "args": {"label": "pasta"}}, {"id": 2, "tool": "timer.list_timers", "args": {}}]
    server.responder = plangate_responder(steps=steps, domain="timer")
    server.push_for("ReplanDecision", *[Fail(503)] * 4)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLANGATE_", "OPENAI_"))}
    env.update(PLANGATE_BASE_URL=server.base_url, PLANGATE_DB=str(tmp_path / "cli.sqlite"), PLANGATE_HOME=str(tmp_path),
               PLANGATE_MODEL_MAX_RETRIES="1", PLANGATE_MODEL_TIMEOUT_S="2", PLANGATE_PLAN_LIBRARY="0",
               **{f"PLANGATE_MODEL_{tier}": "fake-model" for tier in ("WEAK", "DEFAULT", "STRONG")})
    first = subprocess.run([str(PLANGATE), "--mode", "llm", "cancel my pasta timer and then list my timers"], env=env,
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert first.returncode == 1 and "Error code: 503" in first.stderr and "Traceback" not in first.stderr
    thread = re.search(r"plangate resume (\w+)", first.stderr).group(1)
    assert server.kinds().count("ReplanDecision") == 4
    again = subprocess.run([str(PLANGATE), "resume", thread, "--json"], env=env, capture_output=True, text=True, timeout=120,
                           cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert '"answer": "final summary"' in again.stdout and server.kinds().count("ReplanDecision") == 5
