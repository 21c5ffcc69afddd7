"""Bad model output from scripted models: validated, repaired within Context.max_repairs, or answered clearly.

Every case asserts how many model calls were made: a model that never gets it right costs at most
max_repairs + 1 calls per decision, and replanning stops at max_replans.
"""

from __future__ import annotations

import math

import pytest
from langchain_core.messages import AIMessage

from plangate.graph.context import Context
from tests import scripted
from tests.helpers import Recorder, config, make_graph, user

REPAIRS = 2
BOUND = REPAIRS + 1
GOOD_PLAN = [{"id": 1, "tool": "test.echo", "args": {"text": "ok"}}]
REQUEST = "set a timer for 10 minutes and then list my timers"  # the rules can plan it when the model cannot


def _models(*strong_replies, weak=None, summary="summary text"):
    return {
        "weak": weak or scripted.ScriptedChatModel(default=scripted.route("plan", "test", 0.99)),
        "default": scripted.ScriptedChatModel(default=summary),
        "strong": scripted.ScriptedChatModel(replies=list(strong_replies)),
    }


def _run(models, text="run the plan", recorder=None, **ctx):
    recorder = recorder or Recorder()
    graph = make_graph(models=models, tools={"test": recorder.tools})
    context = Context(**{"router_mode": "llm", "max_repairs": REPAIRS, "plan_library": False, **ctx})
    cfg = config()
    graph.invoke(user(text), cfg, context=context)
    return graph.get_state(cfg).values, recorder  # every key, internal ones (plan_source, replans) too


def _invalid_json_plan() -> AIMessage:
    return AIMessage(content="", invalid_tool_calls=[{"name": "PlanDraft", "args": '{"goal": "g", "steps": [', "id": "c1",
                                                      "error": "bad json", "type": "invalid_tool_call"}])


def _step(i, **extra):
    return {"id": i, "tool": "test.echo", "args": {"text": str(i)}, **extra}


BAD_PLANS = {
    "invalid-json-args": (_invalid_json_plan(), "not valid JSON"),
    "cycle": (scripted.plan([_step(1, depends_on=[2]), _step(2, depends_on=[1])]), "depends_on 2 is not an earlier step"),
    "forward-dependency": (scripted.plan([_step(1, depends_on=[3]), _step(2), _step(3)]), "depends_on 3 is not an earlier step"),
    "self-dependency": (scripted.plan([_step(1), _step(2, depends_on=[2])]), "depends on itself"),
    "unknown-tool": (scripted.plan([{"id": 1, "tool": "test.teleport", "args": {}}]), "unknown tool 'test.teleport'"),
    "args-fail-schema": (scripted.plan([{"id": 1, "tool": "test.number", "args": {"value": "lots"}}]), "value"),
    "500-steps": (scripted.plan([_step(i) for i in range(1, 501)]), "more than the limit"),
    "prose-instead-of-a-call": (AIMessage(content="Sure! I would echo things."), "no PlanDraft call"),
    "bad-reference": (scripted.plan([_step(1, args={"text": "{{step_9.text}}"})]), "references {{step_9}}"),
}


@pytest.mark.parametrize("case", list(BAD_PLANS))
def test_bad_plan_is_repaired_with_its_errors(case):
    bad, problem = BAD_PLANS[case]
    models = _models(bad, scripted.plan(GOOD_PLAN))
    out, recorder = _run(models)
    calls = models["strong"].calls_for("PlanDraft")
    assert len(calls) == 2 and out["metrics"]["repairs"] == 1
    assert problem in str(calls[1]["messages"][-2:])  # the second call saw what was wrong
    assert out["step_results"][1]["output"]["text"] == "ok" and recorder.names() == ["echo"]


@pytest.mark.parametrize("case", list(BAD_PLANS))
def test_plan_that_stays_bad_is_bounded_and_answered(case):
    bad, _ = BAD_PLANS[case]
    models = _models(*[bad] * 10)
    out, recorder = _run(models, text=REQUEST)
    assert len(models["strong"].calls_for("PlanDraft")) == BOUND
    # the rules plan the request instead, and say why
    assert out["plan_source"] == "rules" and "no valid plan after 3 attempt(s)" in out["route_reason"]
    assert recorder.calls == [] and out["messages"][-1].content == "summary text"


def test_plan_that_stays_bad_with_nothing_the_rules_can_do_is_a_clear_answer():
    models = _models(*[scripted.plan([{"id": 1, "tool": "test.teleport", "args": {}}])] * 10)
    graph = make_graph(models=models, tools={"test": Recorder().tools}, include_builtin_tools=False)
    out = graph.invoke(user("frobnicate the quux"), config(), context=Context(router_mode="llm", max_repairs=REPAIRS))
    assert len(models["strong"].calls_for("PlanDraft")) == BOUND
    assert "couldn't make a valid plan" in out["messages"][-1].content and "test.teleport" in out["messages"][-1].content


@pytest.mark.parametrize(("field", "value"), [("confidence", 7), ("confidence", math.nan), ("confidence", -1),
                                              ("route", ""), ("route", "maybe"), ("domain", "narnia")],
                         ids=["confidence-7", "confidence-nan", "confidence-negative", "empty-route", "unknown-route",
                              "unknown-domain"])
def test_bad_route_decision_is_repaired_then_bounded(field, value):
    bad = {"route": "plan", "domain": "test", "confidence": 0.99, "reasoning": "r", field: value}
    weak = scripted.ScriptedChatModel(replies=[scripted.tool_call("RouteDecision", bad), scripted.route("plan", "test", 0.99)])
    out, _ = _run(_models(scripted.plan(GOOD_PLAN), weak=weak))
    assert len(weak.calls_for("RouteDecision")) == 2 and out["confidence"] == 0.99 and out["route"] == "plan"
    assert field in str(weak.calls[1]["messages"][-2:])  # the repair named the field

    always_bad = scripted.ScriptedChatModel(default=scripted.tool_call("RouteDecision", bad))
    models = _models(weak=always_bad)
    models["strong"].default = scripted.tool_call("RouteDecision", bad)
    out, _ = _run(models, text=REQUEST)
    assert len(always_bad.calls_for("RouteDecision")) == BOUND
    assert len(models["strong"].calls_for("RouteDecision")) in (0, BOUND)  # at most one escalation
    assert "rules fallback" in out["route_reason"] and 0.0 <= out["confidence"] <= 1.0


def test_replanner_that_never_finishes_stops_at_max_replans(no_sleep):
    def keep_replanning(messages):
        import json
        import re

        state = json.loads(re.search(r"<plan_state>\s*(.*?)\s*</plan_state>", messages[-1].content, re.S).group(1))
        nid = state["next_id"]
        return scripted.replan("replan", [{"id": nid, "tool": "test.broken", "args": {"text": f"again {nid}"}}])

    models = _models(scripted.plan([{"id": 1, "tool": "test.broken", "args": {"text": "x"}}]))
    models["strong"].default = keep_replanning
    out, recorder = _run(models, max_replans=3)
    assert len(models["strong"].calls_for("ReplanDecision")) == 3 and out["replans"] == 3
    assert recorder.names().count("broken") == 4 and out["messages"][-1].content == "summary text"
    assert out["plan"]["version"] == 4


def test_replanner_with_invalid_steps_is_bounded_and_finishes(no_sleep):
    bad_replan = scripted.replan("replan", [{"id": 1, "tool": "test.echo", "args": {"text": "reuses id 1"}}])
    models = _models(scripted.plan([{"id": 1, "tool": "test.broken", "args": {"text": "x"}}]), *[bad_replan] * 10)
    out, recorder = _run(models, max_replans=2)
    assert len(models["strong"].calls_for("ReplanDecision")) == BOUND  # one replan, its repairs, then finish
    assert out["plan"]["version"] == 1 and recorder.names() == ["broken"]
    assert out["plan_history"][-1]["action"] == "finish" and "no valid revision" in out["plan_history"][-1]["reasoning"]


@pytest.mark.parametrize("reply", [scripted.tool_call("test__number", {"value": "lots"}), scripted.tool_call("test__nope", {}),
                                   AIMessage(content="I'd rather chat.")], ids=["args-fail-schema", "unknown-tool", "prose"])
def test_fast_path_bad_call_falls_back_to_the_rules(reply):
    weak = scripted.ScriptedChatModel(replies=[scripted.route("fast", "timer", 0.99), reply])
    graph = make_graph(models={"weak": weak, "default": scripted.ScriptedChatModel(default="x"),
                               "strong": scripted.ScriptedChatModel()}, tools={"test": Recorder().tools})
    out = graph.invoke(user("set a timer for 10 minutes"), config(), context=Context(router_mode="llm"))
    assert len(weak.calls) == 2 and "10 min" in out["messages"][-1].content
    assert out["step_results"][1]["status"] == "completed"


def test_empty_summary_is_replaced_by_the_rules_answer():
    out, _ = _run(_models(scripted.plan(GOOD_PLAN), summary="   "))
    assert "ok" in out["messages"][-1].content
