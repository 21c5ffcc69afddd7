"""Calendar: add with conflict detection, list by day and range, delete, and iCalendar export."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from plangate.tools import calendar
from plangate.tools.errors import ToolError


def add(title, start, **extra):
    return calendar.add_event.invoke({"title": title, "start": start, **extra})


def test_add_defaults_to_an_hour_in_local_time(clock):
    out = add("dentist", "2026-11-23T09:00")
    assert out["event"]["start"] == "2026-11-23T09:00+01:00" and out["event"]["end"] == "2026-11-23T10:00+01:00"
    assert out["message"] == "Added 'dentist' to your calendar on Mon 23 Nov 09:00-10:00."
    assert out["conflicts"] == []


def test_overlapping_events_are_reported_or_refused(clock):
    add("dentist", "2026-11-23T09:00", duration_min=30, location="Main St")
    out = add("call with Bob", "2026-11-23T09:15")
    assert [e["title"] for e in out["conflicts"]] == ["dentist"]
    assert "overlaps Mon 23 Nov 09:00-09:30 dentist at Main St" in out["message"]
    adjacent = add("standup", "2026-11-23T09:30", end="2026-11-23T09:45")
    assert [e["title"] for e in adjacent["conflicts"]] == ["call with Bob"]  # touching dentist's end is no conflict
    with pytest.raises(ToolError, match="overlaps"):
        add("gym", "2026-11-23T09:40", allow_conflicts=False)


@pytest.mark.parametrize("args", [
    {"title": "", "start": "2026-11-23T09:00"},
    {"title": "x", "start": "tomorrow morning"},
    {"title": "x", "start": "2026-11-23T09:00", "end": "2026-11-23T08:00"},
    {"title": "x", "start": "2026-11-23T09:00", "duration_min": 0},
])
def test_invalid_events_are_rejected(args, clock):
    with pytest.raises(ValidationError):
        calendar.add_event.invoke(args)


def test_list_a_day_a_range_and_a_free_day(clock):
    add("dentist", "2026-11-23T09:00")
    add("late dinner", "2026-11-22T23:30", duration_min=120)  # runs past midnight into Monday
    add("trip", "2026-11-26T08:00")
    monday = calendar.list_events.invoke({"day": "2026-11-23"})
    assert [e["title"] for e in monday["events"]] == ["late dinner", "dentist"]
    week = calendar.list_events.invoke({"day": "2026-11-23", "days": 7})
    assert [e["title"] for e in week["events"]] == ["late dinner", "dentist", "trip"]
    assert calendar.list_events.invoke({"day": "2026-11-24"})["message"] == "Your calendar is free on Tue 24 Nov."
    assert [e["title"] for e in calendar.list_events.invoke({})["events"]] == ["late dinner"]  # default: today


def test_delete_by_title_day_or_id_and_refuse_ambiguity(clock):
    first = add("dentist", "2026-11-23T09:00")["event"]
    add("dentist", "2026-11-30T09:00")
    with pytest.raises(ToolError, match="2 events match"):
        calendar.delete_event.invoke({"title": "dentist"})
    out = calendar.delete_event.invoke({"title": "dentist appointment", "day": "2026-11-30"})
    assert [e["start"][:10] for e in out["deleted"]] == ["2026-11-30"]
    calendar.delete_event.invoke({"event_id": first["id"]})
    assert calendar.list_events.invoke({"day": "2026-11-23", "days": 14})["events"] == []
    with pytest.raises(ToolError, match="no event matches"):
        calendar.delete_event.invoke({"title": "dentist"})
    with pytest.raises(ValidationError):
        calendar.delete_event.invoke({})


def test_export_is_valid_icalendar(clock):
    add("Dinner; with Ann, Bob", "2026-11-23T19:00", location="Luigi's, Rome")
    add("x" * 120, "2026-11-24T09:00")
    out = calendar.export_ics.invoke({})
    ics = out["ics"]
    assert out["count"] == 2
    assert ics.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") and ics.endswith("END:VCALENDAR\r\n")
    assert "\n" not in ics.replace("\r\n", "")  # CRLF line endings only
    assert "DTSTART:20261123T180000Z" in ics and "DTEND:20261123T190000Z" in ics  # UTC
    assert "SUMMARY:Dinner\\; with Ann\\, Bob" in ics and "LOCATION:Luigi's\\, Rome" in ics
    lines = ics.split("\r\n")
    assert all(len(line.encode()) <= 75 for line in lines)
    assert any(line.startswith(" x") for line in lines)  # the long title was folded
    unfolded = ics.replace("\r\n ", "")
    assert "SUMMARY:" + "x" * 120 in unfolded
    assert ics.count("BEGIN:VEVENT") == 2
    assert calendar.export_ics.invoke({"day": "2026-11-24"})["count"] == 1
