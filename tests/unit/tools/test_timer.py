"""Timers: set, list, cancel, per-user isolation, and expired timers reported once."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from plangate.tools import runtime, timer
from plangate.tools.errors import ToolError


def test_set_list_and_cancel_by_label(clock):
    out = timer.set_timer.invoke({"duration_s": 180, "label": "tea"})
    assert out["message"] == "Timer 'tea' set for 3 min (rings at 14:03)."
    timer.set_timer.invoke({"duration_s": 600})
    listed = timer.list_timers.invoke({})
    assert [t["label"] for t in listed["timers"]] == ["tea", "timer"]
    assert listed["timers"][0]["seconds_left"] == 180
    cancelled = timer.cancel_timer.invoke({"label": "Tea"})
    assert [t["label"] for t in cancelled["cancelled"]] == ["tea"]
    assert [t["label"] for t in timer.list_timers.invoke({})["timers"]] == ["timer"]


def test_set_at_a_clock_time_and_reject_the_past(clock):
    out = timer.set_timer.invoke({"at": "2026-11-22T15:30"})
    assert out["timer"]["duration_s"] == 90 * 60
    with pytest.raises(ToolError, match="in the past"):
        timer.set_timer.invoke({"at": "2026-11-22T13:00"})
    with pytest.raises(ToolError, match="not an ISO time"):
        timer.set_timer.invoke({"at": "half past nine"})


@pytest.mark.parametrize("args", [{}, {"duration_s": 0}, {"duration_s": -5}, {"duration_s": 8 * 86400}])
def test_invalid_arguments_are_rejected(args, clock):
    with pytest.raises(ValidationError):
        timer.set_timer.invoke(args)


def test_cancel_needs_a_match_and_says_which_timers_exist(clock):
    with pytest.raises(ToolError, match="your timers: none"):
        timer.cancel_timer.invoke({"label": "eggs"})
    timer.set_timer.invoke({"duration_s": 60, "label": "eggs"})
    timer.set_timer.invoke({"duration_s": 60, "label": "tea"})
    with pytest.raises(ToolError, match="which one"):
        timer.cancel_timer.invoke({})
    assert len(timer.cancel_timer.invoke({"label": "all"})["cancelled"]) == 2


def test_timers_are_per_user(clock, monkeypatch):
    timer.set_timer.invoke({"duration_s": 60, "label": "alice's"})
    monkeypatch.setenv("PLANGATE_USER_ID", "bob")
    assert timer.list_timers.invoke({})["timers"] == []


def test_expired_timers_are_reported_once_and_notified(clock, tmp_path):
    timer.set_timer.invoke({"duration_s": 180, "label": "tea"})
    timer.set_timer.invoke({"duration_s": 3600, "label": "roast"})
    assert timer.collect_expired_timers() == []
    clock.advance(minutes=5)
    rung = timer.collect_expired_timers()
    assert [r["label"] for r in rung] == ["tea"]
    assert rung[0]["message"] == "Timer 'tea' (3 min) rang at 14:03."
    assert timer.collect_expired_timers() == []  # reported only once
    assert "Timer 'tea' (3 min) rang at 14:03." in (tmp_path / "notifications.log").read_text()
    listed = timer.list_timers.invoke({})
    assert [t["label"] for t in listed["expired"]] == ["tea"] and [t["label"] for t in listed["timers"]] == ["roast"]
    with pytest.raises(ToolError):
        timer.cancel_timer.invoke({"label": "tea"})  # a rung timer cannot be cancelled
    clock.advance(days=2)
    assert [r["label"] for r in timer.collect_expired_timers(notify=False)] == ["roast"]
    remaining = runtime.all_values(runtime.namespace("timers"))
    assert [t["label"] for t in remaining] == ["roast"]  # tea was reported more than a day ago: deleted


def test_a_dead_notification_sink_never_breaks_reporting(clock, monkeypatch, closed_port_url):
    monkeypatch.setenv("PLANGATE_NOTIFY", closed_port_url + "/hook")
    timer.set_timer.invoke({"duration_s": 60})
    clock.advance(minutes=2)
    assert [r["label"] for r in timer.collect_expired_timers()] == ["timer"]


def test_collect_for_an_explicit_store_and_user(clock):
    from langgraph.store.memory import InMemoryStore

    store = InMemoryStore()
    store.put(("plangate", "timers", "carol"), "t1", {"id": "t1", "label": "pasta", "duration_s": 60,
                                                      "created_at": "2026-11-22T13:00:00+01:00",
                                                      "ends_at": "2026-11-22T13:01:00+01:00"})
    rung = timer.collect_expired_timers(store, "carol", notify=False)
    assert [r["id"] for r in rung] == ["t1"]
    assert store.get(("plangate", "timers", "carol"), "t1").value["reported"]
