"""The plan is visible in chat UIs as tool calls and tool results, while models keep a clean history."""

from __future__ import annotations

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.types import Command

from plangate.graph.context import Context
from tests import scripted
from tests.helpers import config, make_graph, user

PLAN_REQUEST = "set a timer for 5 minutes and then list my timers"


def test_a_plan_turn_shows_each_step_as_a_tool_call_answered_by_its_result():
    graph, cfg = make_graph(), config()
    out = graph.invoke(user(PLAN_REQUEST), cfg)
    human, calls, first, second, answer = out["messages"]
    assert [c["name"] for c in calls.tool_calls] == ["timer.set_timer", "timer.list_timers"]
    assert calls.tool_calls[0]["args"] == {"duration_s": 300}
    assert isinstance(first, ToolMessage) and [first.tool_call_id, second.tool_call_id] == [c["id"] for c in calls.tool_calls]
    assert first.status == "success" and "Timer set for 5 min" in first.content and first.name == "timer.set_timer"
    assert isinstance(answer, AIMessage) and not answer.tool_calls and "Timer set for 5 min" in answer.content


def test_the_plan_shows_while_it_waits_and_rejected_steps_are_answered_as_errors():
    graph, cfg = make_graph(), config()
    ctx = Context(approve_side_effects="on")
    graph.invoke(user("set a timer for 5 minutes and turn on the kitchen lights"), cfg, context=ctx)
    waiting = graph.get_state(cfg).values["messages"]
    assert [c["name"] for c in waiting[-1].tool_calls] == ["timer.set_timer", "smart_home.set_device"]  # shown before it runs
    out = graph.invoke(Command(resume={"decisions": [{"type": "reject", "message": "daytime"}]}), cfg, context=ctx)
    results = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert [(m.name, m.status) for m in results] == [("timer.set_timer", "success"), ("smart_home.set_device", "error")]
    assert "daytime" in results[1].content


def test_streams_carry_only_the_answer_and_models_never_see_tool_traffic():
    weak = scripted.ScriptedChatModel(default=scripted.route("plan", "timer", 0.99))
    steps = [{"id": 1, "tool": "timer.set_timer", "args": {"duration_s": 60}}]
    models = {"weak": weak, "strong": scripted.ScriptedChatModel(default=scripted.plan(steps)),
              "default": scripted.ScriptedChatModel(default="Done.")}
    graph, cfg, ctx = make_graph(models=models), config(), Context(router_mode="llm")
    parts = list(graph.stream(user("a one minute timer"), cfg, stream_mode="messages", context=ctx))
    assert [m.type for m, _ in parts] == ["ai"] and parts[0][0].content == "Done."
    assert [m.type for m in graph.get_state(cfg).values["messages"]] == ["human", "ai", "tool", "ai"]
    graph.invoke(user("and another one"), cfg, context=ctx)
    for model in models.values():
        for call in model.calls:
            assert not any(isinstance(m, ToolMessage) or getattr(m, "tool_calls", None) for m in call["messages"])
            assert all("plan-" not in str(m.content) for m in call["messages"])  # no transcript ids in any prompt


def test_a_new_request_that_closes_a_waiting_plan_answers_its_calls_as_not_run():
    graph, cfg = make_graph(), config()
    ctx = Context(approve_side_effects="on")
    graph.invoke(user("turn on the kitchen lights and then set a timer for 5 minutes"), cfg, context=ctx)
    out = graph.invoke(user("is the front door locked?"), cfg, context=ctx)
    called = {c["id"] for m in out["messages"] if isinstance(m, AIMessage) for c in m.tool_calls}
    answered = {m.tool_call_id for m in out["messages"] if isinstance(m, ToolMessage)}
    assert called and called == answered
    assert all("not run" in m.content for m in out["messages"] if isinstance(m, ToolMessage))
