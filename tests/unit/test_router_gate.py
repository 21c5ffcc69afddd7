"""The confidence gate at each band, and each router_mode."""

import pytest

from plangate.graph.context import Context
from tests import scripted
from tests.helpers import config, make_graph, user


def run(models, text="do the thing with the timer", **ctx):
    graph = make_graph(models=models)
    return graph.invoke(user(text), config(), context=Context(**ctx))


def models_with(*router_replies, fast=None, plan_steps=None):
    weak = scripted.ScriptedChatModel(replies=list(router_replies))
    strong = scripted.ScriptedChatModel(replies=[])
    weak.replies.append(fast or scripted.tool_call("timer__set_timer", {"duration_s": 60}))
    strong.default = scripted.plan(plan_steps or [{"id": 1, "tool": "timer.set_timer", "args": {"duration_s": 60}}])
    default = scripted.ScriptedChatModel(default="summary")
    return {"weak": weak, "default": default, "strong": strong}


def test_llm_mode_confident_fast_goes_fast():
    models = models_with(scripted.route("fast", "timer", 0.97))
    out = run(models, router_mode="llm")
    assert out["route"] == "fast" and out["confidence"] == 0.97
    assert "gate: fast" in out["route_reason"]
    assert len(models["strong"].calls) == 0  # no planner call


def test_llm_mode_low_confidence_plans_without_escalating():
    models = models_with(scripted.route("fast", "timer", 0.5))
    out = run(models, router_mode="llm")
    assert out["route"] == "plan"
    assert len(models["strong"].calls_for("RouteDecision")) == 0
    assert len(models["strong"].calls_for("PlanDraft")) == 1


@pytest.mark.parametrize(("strong_confidence", "expected"), [(0.99, "fast"), (0.85, "plan")])
def test_ambiguous_band_escalates_exactly_once_to_strong(strong_confidence, expected):
    """Sure after escalating: fast; still unsure: plan. Either way the strong tier is asked once."""
    models = models_with(scripted.route("fast", "timer", 0.8))
    models["strong"].replies = [scripted.route("fast", "timer", strong_confidence)]
    out = run(models, router_mode="llm")
    assert out["route"] == expected
    assert "escalated to strong" in out["route_reason"]
    assert len(models["strong"].calls_for("RouteDecision")) == 1


def test_route_plan_always_plans_even_when_confident():
    models = models_with(scripted.route("plan", "timer", 0.99))
    assert run(models, router_mode="llm")["route"] == "plan"


@pytest.mark.parametrize(("fast_threshold", "expected"), [(0.95, "plan"), (0.90, "fast")])
def test_threshold_edges_come_from_context(fast_threshold, expected):
    models = models_with(scripted.route("fast", "timer", 0.92))
    models["strong"].replies = [scripted.route("fast", "timer", 0.92)]
    out = run(models, router_mode="llm", fast_threshold=fast_threshold, plan_threshold=0.7)
    assert out["route"] == expected


def test_rules_mode_never_calls_a_model_to_route():
    models = models_with()
    out = run(models, "set a timer for 5 minutes", router_mode="rules")
    assert out["route"] == "fast" and out["route_reason"].startswith("rules:")
    assert not models["weak"].calls_for("RouteDecision") and not models["strong"].calls_for("RouteDecision")


def test_cascade_rules_sure_skips_the_model():
    models = models_with()
    out = run(models, "set a timer for 5 minutes", router_mode="cascade")
    assert out["route"] == "fast"
    assert not models["weak"].calls_for("RouteDecision")
    assert out["metrics"]["llm_calls"] == 1  # the fast path's one weak call


def test_cascade_rules_unsure_asks_the_weak_model():
    models = models_with(scripted.route("fast", "timer", 0.99))
    out = run(models, "could you maybe sort out something about the thing", router_mode="cascade")
    assert len(models["weak"].calls_for("RouteDecision")) == 1
    assert out["route"] == "fast" and "weak model" in out["route_reason"]


def test_bad_router_output_is_repaired_then_falls_back_to_rules():
    bad = scripted.tool_call("RouteDecision", {"route": "sideways", "domain": "timer", "confidence": 7})
    models = models_with(bad, bad, bad)
    out = run(models, "set a timer for 5 minutes", router_mode="llm", max_repairs=2)
    assert len(models["weak"].calls_for("RouteDecision")) == 3  # 1 + 2 repairs, then no more
    assert "rules fallback" in out["route_reason"]
    assert out["messages"][-1].content  # still answered


def test_repair_feedback_names_the_problem():
    bad = scripted.tool_call("RouteDecision", {"route": "fast", "domain": "astrology", "confidence": 0.99})
    models = models_with(bad, scripted.route("fast", "timer", 0.99))
    out = run(models, router_mode="llm")
    second = models["weak"].calls_for("RouteDecision")[1]["messages"]
    assert any("astrology" in str(m.content) and "unknown" in str(m.content) for m in second)
    assert out["route"] == "fast" and out["metrics"]["repairs"] == 1
