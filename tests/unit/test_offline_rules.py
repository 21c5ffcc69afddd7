"""The offline rules model: routes, plans, arguments, replans and small talk, all deterministic."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from plangate.graph.engine.plan import PlanDraft
from plangate.graph.offline import rules
from plangate.graph.offline.chat_model import OfflineRulesModel, replan, reply_text
from plangate.nodes.router import RouteDecision
from plangate.tools.registry import build_registry
from tests.helpers import config, make_graph, user

NOW = datetime(2026, 11, 22, 14, 0, tzinfo=timezone(timedelta(hours=1)))  # Sunday 14:00
REGISTRY = build_registry()
TOMORROW_9 = "2026-11-23T09:00+01:00"

# (request, route, [(tool, args that must be present, depends_on)])
CASES = [
    ("set a timer for 10 minutes and add dentist tomorrow at 9am to my calendar", "plan",
     [("timer.set_timer", {"duration_s": 600}, []), ("calendar.add_event", {"title": "dentist", "start": TOMORROW_9}, [])]),
    ("what's the weather in Paris", "fast", [("weather.current_weather", {"place": "Paris"}, [])]),
    ("turn on the kitchen lights", "fast", [("smart_home.set_device", {"device": "kitchen lights", "state": "on"}, [])]),
    ("set the thermostat to 21 degrees", "fast", [("smart_home.set_device", {"device": "thermostat", "state": "21"}, [])]),
    ("remember that my wife likes tulips", "fast", [("memory.remember", {"fact": "my wife likes tulips"}, [])]),
    ("what do you remember about tulips", "fast", [("memory.recall", {"query": "tulips"}, [])]),
    ("search the docs for checkpointing", "fast", [("search.search_docs", {"query": "checkpointing"}, [])]),
    ("notify me that dinner is ready", "fast", [("notification.notify", {"message": "dinner is ready"}, [])]),
    ("what's on my calendar tomorrow", "fast", [("calendar.list_events", {"day": "2026-11-23"}, [])]),
    ("lock the front door", "fast", [("smart_home.set_device", {"device": "front door", "state": "lock"}, [])]),
    ("cancel my tea timer", "fast", [("timer.cancel_timer", {"label": "tea"}, [])]),
    ("check the weather in London then notify me with the result", "plan",
     [("weather.current_weather", {"place": "London"}, []), ("notification.notify", {"message": "Result: {{step_1}}"}, [1])]),
    ("set a timer for 10 minutes and add dentist tomorrow at 9am to my calendar, then notify me when done", "plan",
     [("timer.set_timer", {"duration_s": 600}, []), ("calendar.add_event", {"title": "dentist"}, []),
      ("notification.notify", {"message": "Done: {{step_1}} {{step_2}}"}, [1, 2])]),
    ("set a tea timer for 3 minutes", "fast", [("timer.set_timer", {"duration_s": 180, "label": "tea"}, [])]),
    ("set an alarm for 7am", "fast", [("timer.set_timer", {"at": "2026-11-23T07:00+01:00"}, [])]),
    ("remind me in 2 hours to call mom", "fast", [("timer.set_timer", {"duration_s": 7200, "label": "call mom"}, [])]),
    ("set a timer for 1 hour and 30 minutes", "fast", [("timer.set_timer", {"duration_s": 5400}, [])]),
    ("cancel all my timers", "fast", [("timer.cancel_timer", {"label": "all"}, [])]),
    ("how long is left on my tea timer", "fast", [("timer.list_timers", {}, [])]),
    ("will it rain tomorrow in London", "fast", [("weather.forecast", {"place": "London", "date": "2026-11-23"}, [])]),
    ("what's the weather like in new york", "fast", [("weather.current_weather", {"place": "New York"}, [])]),
    ("what's the weather in Paris and London", "plan",
     [("weather.current_weather", {"place": "Paris"}, []), ("weather.current_weather", {"place": "London"}, [])]),
    ("schedule a meeting with Bob on Friday at 3pm", "fast",
     [("calendar.add_event", {"title": "meeting with Bob", "start": "2026-11-27T15:00+01:00"}, [])]),
    ("book lunch with Anna at Luigi's tomorrow at 1pm for 90 minutes", "fast",
     [("calendar.add_event", {"title": "lunch with Anna", "location": "Luigi's", "duration_min": 90}, [])]),
    ("cancel my dentist appointment", "fast", [("calendar.delete_event", {"title": "dentist"}, [])]),
    ("export my calendar", "fast", [("calendar.export_ics", {}, [])]),
    ("turn off the lights in the bedroom", "fast", [("smart_home.set_device", {"device": "bedroom lights", "state": "off"}, [])]),
    ("dim the living room lights to 30%", "fast", [("smart_home.set_device", {"device": "living room lights", "state": "30"}, [])]),
    ("is the front door locked?", "fast", [("smart_home.get_device", {"device": "front door"}, [])]),
    ("what devices do I have", "fast", [("smart_home.list_devices", {}, [])]),
    ("forget that my wife likes tulips", "fast", [("memory.forget", {"query": "my wife likes tulips"}, [])]),
    ("set the thermostat to 19 and lock the back door", "plan",
     [("smart_home.set_device", {"state": "19"}, []), ("smart_home.set_device", {"device": "back door", "state": "lock"}, [])]),
    ("turn on the lights then set a timer for 20 minutes", "plan",
     [("smart_home.set_device", {"state": "on"}, []), ("timer.set_timer", {"duration_s": 1200}, [1])]),
    ("search for bm25 and remember that I like sqlite", "plan",
     [("search.search_docs", {"query": "bm25"}, []), ("memory.remember", {"fact": "I like sqlite"}, [])]),
]


@pytest.mark.parametrize(("text", "route", "expected"), CASES, ids=[c[0][:48] for c in CASES])
def test_requests_are_routed_and_planned(text, route, expected):
    decision = rules.decide_route(text, REGISTRY)
    assert decision.route == route
    assert decision.confidence >= 0.95  # the cascade needs no model for any of these
    assert decision.domain == expected[0][0].split(".")[0]
    plan = rules.draft_plan(text, REGISTRY, NOW)
    assert [s["tool"] for s in plan["steps"]] == [tool for tool, _, _ in expected]
    for step, (_, args, depends_on) in zip(plan["steps"], expected, strict=True):
        assert {k: step["args"].get(k) for k in args} == args, step
        assert step["depends_on"] == depends_on
        assert not REGISTRY.check_args(step["tool"], step["args"]), step  # every drafted call is valid


@pytest.mark.parametrize("text", ["hello", "hi there, what can you do?", "thanks!", "how are you", "tell me a joke"])
def test_small_talk_goes_fast_to_conversation(text):
    decision = rules.decide_route(text, REGISTRY)
    assert (decision.route, decision.domain) == ("fast", "conversation")
    assert "offline rules model" not in reply_text(text)


def test_unknown_requests_plan_with_low_confidence():
    decision = rules.decide_route("could you maybe sort out something about the thing", REGISTRY)
    assert decision.route == "plan" and decision.confidence < 0.7


def test_a_lone_writing_request_is_answered_directly_and_within_a_plan_is_a_step():
    decision = rules.decide_route("write me a poem about autumn", REGISTRY)
    assert (decision.route, decision.domain) == ("fast", "conversation")
    assert reply_text("write me a poem about autumn").startswith("I didn't do")  # offline: says it cannot
    steps = rules.draft_plan("search my notes for docker and summarize them", REGISTRY, NOW)["steps"]
    assert [s["tool"] for s in steps] == ["search.search_docs", "llm.generate"]
    assert steps[0]["args"]["query"] == "docker" and steps[1]["args"]["context"] == "{{step_1}}"


def test_shared_keywords_do_not_decide_the_domain():
    assert rules.domain_scores("cancel my tea timer", REGISTRY).keys() == {"timer"}
    assert rules.domain_scores("cancel my dentist appointment", REGISTRY).keys() == {"calendar"}
    assert rules.decide_route("cancel", REGISTRY).confidence < 0.95  # "cancel" alone is ambiguous


def test_the_offline_model_answers_structured_requests():
    model = OfflineRulesModel(registry=REGISTRY, clock=lambda: NOW)
    text = "check the weather in London then notify me with the result"
    route = model.with_structured_output(RouteDecision, method="function_calling").invoke([HumanMessage(text)])
    assert (route.route, route.domain) == ("plan", "weather")
    draft = model.with_structured_output(PlanDraft).invoke([SystemMessage("plan it"), HumanMessage(text)])
    assert [s.tool for s in draft.steps] == ["weather.current_weather", "notification.notify"]
    bound = model.bind_tools([REGISTRY.provider_schema(n) for n in REGISTRY.tools_in("timer")], tool_choice="any")
    call = bound.invoke([HumanMessage("set a tea timer for 3 minutes")]).tool_calls[0]
    assert (call["name"], call["args"]) == ("timer__set_timer", {"duration_s": 180, "label": "tea"})


def _state(steps, results, failed):
    return {"plan": {"steps": steps}, "results": results, "failed": failed, "next_id": len(steps) + 1}


def test_replan_retries_a_retryable_failure_and_recreates_its_blocked_dependents():
    steps = [
        {"id": 1, "tool": "timer.set_timer", "args": {"duration_s": 60}, "description": "timer", "depends_on": []},
        {"id": 2, "tool": "weather.current_weather", "args": {"place": "London"}, "description": "weather", "depends_on": []},
        {"id": 3, "tool": "notification.notify", "args": {"message": "{{step_1.message}} {{step_2.message}}"},
         "description": "notify", "depends_on": [1, 2]},
        {"id": 4, "tool": "memory.remember", "args": {"fact": "{{step_3.message}}"}, "description": "keep", "depends_on": [3]},
    ]
    results = {"1": {"status": "completed"}, "2": {"status": "failed", "retryable": True}}
    decision = replan(_state(steps, results, [2]))
    assert decision["action"] == "replan"
    new = decision["steps"]
    assert [(s["id"], s["tool"]) for s in new] == [(5, "weather.current_weather"), (6, "notification.notify"), (7, "memory.remember")]
    assert new[1]["depends_on"] == [1, 5] and new[1]["args"]["message"] == "{{step_1.message}} {{step_5.message}}"
    assert new[2]["depends_on"] == [6] and new[2]["args"]["fact"] == "{{step_6.message}}"
    assert all(s["description"].startswith(f"retry of step {old}:") for s, old in zip(new, (2, 3, 4), strict=True))
    results.update({"5": {"status": "failed", "retryable": True}})
    again = replan(_state(steps + new, results, [5]))
    assert again["action"] == "finish"  # a retry is never retried


def test_replan_finishes_on_permanent_failures():
    steps = [{"id": 1, "tool": "calendar.add_event", "args": {"title": "x", "start": "bad"}, "description": "add", "depends_on": []}]
    assert replan(_state(steps, {"1": {"status": "failed", "retryable": False}}, [1]))["action"] == "finish"


def test_summaries_report_a_retried_step_once_and_name_the_failed_action():
    rows = [
        {"id": 1, "tool": "timer.set_timer", "description": "set a timer", "status": "completed",
         "output": {"message": "Timer set for 10 min (rings at 14:10)."}},
        {"id": 2, "tool": "weather.current_weather", "description": "check the weather in Paris", "status": "failed",
         "error": "couldn't reach the weather service"},
        {"id": 3, "tool": "weather.current_weather", "description": "retry of step 2: check the weather in Paris",
         "status": "failed", "error": "couldn't reach the weather service"},
    ]
    text = rules.summarize("timer and weather", rows, REGISTRY)
    assert text.count("couldn't reach") == 1
    assert "- Timer set for 10 min" in text and "I couldn't get the weather (check the weather in Paris)" in text


def test_the_demo_request_runs_offline_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANGATE_NOTIFY", str(tmp_path / "notify.log"))
    text = "set a timer for 10 minutes and add dentist tomorrow at 9am to my calendar, then notify me when done"
    out = make_graph().invoke(user(text), config())
    assert [r["status"] for _, r in sorted(out["step_results"].items())] == ["completed"] * 3
    assert out["plan"]["steps"][2]["depends_on"] == [1, 2]
    answer = out["messages"][-1].content
    assert "Timer set for 10 min" in answer and "Added 'dentist' to your calendar" in answer
    assert "Added 'dentist'" in (tmp_path / "notify.log").read_text()  # the notification carried both results


def test_offline_conversation_answers_the_latest_message():
    graph, cfg = make_graph(), config()
    assert graph.invoke(user("hello"), cfg)["messages"][-1].content.startswith("Hello! I can set timers")
    graph.invoke(user("set a tea timer for 3 minutes"), cfg)
    assert graph.invoke(user("thanks!"), cfg)["messages"][-1].content == "You're welcome! Anything else?"
