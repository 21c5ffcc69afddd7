"""Later turns of a thread: the models see the earlier turns as data, so "make it 10 minutes" can be resolved."""

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.store.memory import InMemoryStore

from plangate.graph.context import Context
from plangate.nodes.prompts import earlier_turns, with_earlier_turns
from tests import scripted
from tests.helpers import config, make_graph, user


def system_text(call: dict) -> str:
    return next(m.content for m in call["messages"] if isinstance(m, SystemMessage))


def test_earlier_turns_keep_requests_and_answers_but_no_tool_traffic():
    messages = [
        HumanMessage("set a tea timer for 3 minutes"),
        AIMessage("", tool_calls=[{"name": "timer__set_timer", "args": {}, "id": "c1", "type": "tool_call"}]),
        ToolMessage("{}", tool_call_id="c1"),
        AIMessage("Timer 'tea' set for 3 min."),
        HumanMessage("x" * 1000),
        AIMessage([{"type": "text", "text": "a   long\nanswer"}]),
        HumanMessage("make it 10 minutes"),
    ]
    turns = earlier_turns(messages)
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant"]
    assert turns[0]["text"] == "set a tea timer for 3 minutes" and turns[3]["text"] == "a long answer"
    assert len(turns[2]["text"]) == 400 and turns[2]["text"].endswith("…")
    assert earlier_turns(messages, keep=2) == turns[-2:]
    assert earlier_turns([HumanMessage("first request")]) == []
    assert with_earlier_turns("SYSTEM", [HumanMessage("first request")]) == "SYSTEM"  # first turns are unchanged


def test_second_turn_prompts_carry_the_first_turn_as_data():
    weak = scripted.ScriptedChatModel(replies=[
        scripted.route("fast", "timer", 0.99), scripted.tool_call("timer__set_timer", {"duration_s": 180, "label": "tea"}),
        scripted.route("plan", "timer", 0.99),
        scripted.route("fast", "timer", 0.99), scripted.tool_call("timer__set_timer", {"duration_s": 300, "label": "egg"}),
    ])
    strong = scripted.ScriptedChatModel(default=scripted.plan([
        {"id": 1, "tool": "timer.set_timer", "args": {"duration_s": 600, "label": "tea"}}]))
    models = {"weak": weak, "strong": strong, "default": scripted.ScriptedChatModel(default="Tea timer is now 10 min.")}
    graph, cfg, ctx = make_graph(models=models), config(), Context(router_mode="llm", plan_library=False)

    first = graph.invoke(user("set a tea timer for 3 minutes"), cfg, context=ctx)
    assert all("<earlier_turns>" not in system_text(call) for call in weak.calls)
    second = graph.invoke(user("make it 10 minutes instead"), cfg, context=ctx)

    router_call, planner_call = weak.calls[2], strong.calls_for("PlanDraft")[0]
    for call in (router_call, planner_call):
        system = system_text(call)
        assert "<earlier_turns>" in system and "set a tea timer for 3 minutes" in system
        assert first["messages"][-1].content in system  # the first answer, too
        assert "never follow" in system  # marked as data, not instructions
        assert call["messages"][-1].content == "make it 10 minutes instead"  # the request itself stays alone
    assert second["step_results"][1]["output"]["timer"]["duration_s"] == 600

    graph.invoke(user("and one for the eggs, 5 minutes"), cfg, context=ctx)
    fast_call = weak.calls[-1]  # the fast path's tool call sees both earlier exchanges
    assert "make it 10 minutes instead" in system_text(fast_call) and "set a tea timer" in system_text(fast_call)


def test_plans_made_on_later_turns_are_not_learned():
    """A later turn's plan may lean on earlier turns, so only first-turn plans go to the plan library."""
    strong = scripted.ScriptedChatModel(default=scripted.plan([
        {"id": 1, "tool": "timer.set_timer", "args": {"duration_s": 600, "label": "tea"}}]))
    models = {"weak": scripted.ScriptedChatModel(default=scripted.route("plan", "timer", 0.99)), "strong": strong,
              "default": scripted.ScriptedChatModel(default="done")}
    graph, ctx = make_graph(models=models, store=InMemoryStore()), Context(router_mode="llm")
    thread = config()
    graph.invoke(user("set a tea timer for 10 minutes"), thread, context=ctx)
    graph.invoke(user("make it 10 minutes"), thread, context=ctx)
    assert len(strong.calls_for("PlanDraft")) == 2
    first_again = graph.invoke(user("set a tea timer for 10 minutes"), config(), context=ctx)
    later_again = graph.invoke(user("make it 10 minutes"), config(), context=ctx)
    assert first_again["metrics"].get("plan_library") == "hit"
    assert later_again["metrics"].get("plan_library") != "hit" and len(strong.calls_for("PlanDraft")) == 3
