"""The five requests of issue 14, end to end through the offline graph, and nothing silently dropped.

Weather answers come from a MockTransport shaped like Open-Meteo, so the conditional and the advice
steps see real temperatures; notifications go to a log file the tests read.
"""

from __future__ import annotations

import copy
import itertools

import httpx
import pytest

from plangate.graph.context import Context
from plangate.graph.offline import coverage, rules
from plangate.tools import http
from plangate.tools.registry import build_registry
from tests import scripted
from tests.helpers import config, make_graph, user
from tests.unit.tools.test_weather import CURRENT, OpenMeteo

REGISTRY = build_registry()


def weather_at(celsius: float) -> OpenMeteo:
    body = copy.deepcopy(CURRENT)
    body["current"]["temperature_2m"] = celsius
    return OpenMeteo(forecast=body)


def run(text: str, api: OpenMeteo | None = None) -> dict:
    with http.use_transport(httpx.MockTransport(api or weather_at(8.4))):
        return make_graph().invoke(user(text), config())


def completed(out: dict) -> list[tuple[str, dict]]:
    steps = {s["id"]: s for s in (out.get("plan") or {}).get("steps", [])}
    return [(steps[i]["tool"], r["output"]) for i, r in sorted(out["step_results"].items()) if r["status"] == "completed"]


def test_two_timers_in_one_request_are_two_timers_with_their_own_durations():
    out = run("start a timer for 8 minutes and another for 20 minutes")
    assert out["route"] == "plan" and out["confidence"] >= 0.95
    timers = [o["timer"] for tool, o in completed(out) if tool == "timer.set_timer"]
    assert sorted(t["duration_s"] for t in timers) == [480, 1200]
    assert {t["label"] for t in timers} == {"timer"}  # never "start another"
    answer = out["messages"][-1].content
    assert "8 min" in answer and "20 min" in answer and coverage.NOT_DONE not in answer


def test_lights_timer_and_calendar_are_three_steps_and_the_timer_keeps_no_stray_label():
    out = run("turn off the lights, set a timer for 5 minutes and check my calendar for Friday")
    tools = [tool for tool, _ in completed(out)]
    assert tools == ["smart_home.set_device", "timer.set_timer", "calendar.list_events"]
    outputs = dict(completed(out))
    assert all(not d["state"]["on"] for d in outputs["smart_home.set_device"]["devices"])  # every light is off
    assert outputs["smart_home.set_device"]["devices"] and all(
        d["kind"] == "light" for d in outputs["smart_home.set_device"]["devices"])
    assert outputs["timer.set_timer"]["timer"] == {**outputs["timer.set_timer"]["timer"], "label": "timer", "duration_s": 300}
    assert "Fri" in outputs["calendar.list_events"]["message"]


@pytest.mark.parametrize(("celsius", "notified"), [(-3.0, True), (4.0, False)])
def test_a_conditional_text_is_sent_only_when_the_condition_holds(celsius, notified, tmp_path, monkeypatch):
    log = tmp_path / "notify.log"
    monkeypatch.setenv("PLANGATE_NOTIFY", str(log))
    out = run("whats the temperature in Oslo and then text me if its below zero", weather_at(celsius))
    step = next(s for s in out["plan"]["steps"] if s["tool"] == "notification.notify")
    assert step["type"] == "conditional"
    assert step["condition"] == {"step": 1, "op": "lt", "value": 0, "field": "current.temperature_2m"}
    status = out["step_results"][step["id"]]["status"]
    assert status == ("completed" if notified else "skipped")
    assert log.exists() == notified
    if notified:
        assert "below zero" in log.read_text().lower() and f"{round(celsius)} °C" in log.read_text()
    else:
        assert "Skipped" in out["messages"][-1].content  # the answer says the text was not sent, and why


def test_remind_me_to_x_in_n_minutes_is_a_labelled_timer():
    out = run("remind me to take the pizza out in 12 minutes")
    assert out["route"] == "fast"
    timer = out["step_results"][1]["output"]["timer"]
    assert timer["duration_s"] == 720 and "pizza" in timer["label"]
    assert "12 min" in out["messages"][-1].content


def test_weather_and_a_jacket_question_get_a_lookup_and_an_answer_drawn_from_it():
    out = run("what's the weather in Lima and do I need a jacket?")
    assert out["route"] == "plan"
    assert [s["tool"] for s in out["plan"]["steps"]] == ["weather.current_weather", "llm.generate"]
    assert out["plan"]["steps"][1]["depends_on"] == [1]
    answer = out["messages"][-1].content
    assert "8 °C" in answer and "Yes, take a jacket" in answer


def test_warm_weather_gets_the_opposite_advice():
    out = run("weather in dublin and should i bring a coat", weather_at(19.0))
    assert "No, no need for a coat: it's 19 °C" in out["messages"][-1].content


def test_what_no_tool_can_do_is_named_in_the_answer():
    out = run("set a timer for 5 minutes and book me a flight to rome")
    answer = out["messages"][-1].content
    assert "Timer set for 5 min" in answer
    assert 'I didn\'t do "book me a flight to rome": none of my tools can do that.' in answer


def test_a_device_change_at_a_time_is_not_done_now_and_the_rules_are_not_sure():
    decision = rules.decide_route("turn on the lights at 7am", REGISTRY)
    assert decision.confidence < 0.95 and "7am" in decision.reasoning


# --- every built-in domain pairing: a part no action covered is named, on both paths ----------------------
PHRASES = {
    "timer": ("set a timer for 5 minutes", "timer.set_timer"),
    "calendar": ("add dentist tomorrow at 9am to my calendar", "calendar.add_event"),
    "weather": ("what's the weather in Paris", "weather.current_weather"),
    "smart_home": ("turn off the kitchen lights", "smart_home.set_device"),
    "search": ("search the docs for checkpointing", "search.search_docs"),
    "memory": ("remember that my wife likes tulips", "memory.remember"),
    "notification": ("notify me that dinner is ready", "notification.notify"),
}
PAIRS = list(itertools.permutations(PHRASES, 2))


@pytest.mark.parametrize(("first", "second"), PAIRS, ids=[f"{a}+{b}" for a, b in PAIRS])
def test_every_domain_pairing_is_planned_and_a_missing_part_is_named(first, second):
    (text_a, tool_a), (text_b, tool_b) = PHRASES[first], PHRASES[second]
    text = f"{text_a} and {text_b}"
    decision = rules.decide_route(text, REGISTRY)
    assert (decision.route, decision.confidence) == ("plan", 0.97)
    assert [s["tool"] for s in rules.draft_plan(text, REGISTRY, scripted_now())["steps"]] == [tool_a, tool_b]
    fast = coverage.fast_note(text, tool_a, REGISTRY)  # a fast path that made only the first call
    assert fast.strip() == f'I didn\'t do "{text_b}": the fast path does one thing at a time; ask for it on its own.'
    planned = coverage.plan_note(text, [{"tool": tool_b}], REGISTRY)  # a plan that forgot the first part
    assert planned.strip() == f'I didn\'t do "{text_a}": no step did it.'
    assert coverage.plan_note(text, [{"tool": tool_a}, {"tool": tool_b}], REGISTRY) == ""


def scripted_now():
    from datetime import datetime

    return datetime.now().astimezone()


def test_a_model_fast_path_that_does_one_of_two_tasks_says_so():
    weak = scripted.ScriptedChatModel(replies=[scripted.route("fast", "timer", 0.99),
                                               scripted.tool_call("timer__set_timer", {"duration_s": 300})])
    models = {"weak": weak, "default": scripted.ScriptedChatModel(default="summary"),
              "strong": scripted.ScriptedChatModel(replies=[])}
    out = make_graph(models=models).invoke(user("set a timer for 5 minutes and turn off the kitchen lights"), config(),
                                           context=Context(router_mode="llm"))
    answer = out["messages"][-1].content
    assert out["route"] == "fast" and "Timer set for 5 min" in answer
    assert 'I didn\'t do "turn off the kitchen lights"' in answer


def test_a_model_plan_that_forgets_a_task_is_named_in_the_summary():
    strong = scripted.ScriptedChatModel(default=scripted.plan([{"id": 1, "tool": "timer.set_timer", "args": {"duration_s": 300}}]))
    models = {"weak": scripted.ScriptedChatModel(replies=[scripted.route("plan", "timer", 0.99)]),
              "default": scripted.ScriptedChatModel(default="The timer is set."), "strong": strong}
    out = make_graph(models=models).invoke(user("set a timer for 5 minutes and lock the front door"), config(),
                                           context=Context(router_mode="llm"))
    answer = out["messages"][-1].content
    assert answer.startswith("The timer is set.")
    assert 'I didn\'t do "lock the front door": no step did it.' in answer
