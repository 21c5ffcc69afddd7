"""Calendar: add (with conflict detection), list, delete and export events as iCalendar, per user in the Store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from datetime import date as Date
from typing import Any

from langchain_core.tools import tool
from pydantic import BaseModel, Field, model_validator

from plangate.tools import runtime
from plangate.tools.errors import ToolError
from plangate.tools.metadata import describe_tool

DEFAULT_MINUTES = 60


def _ns() -> tuple[str, ...]:
    return runtime.namespace("calendar")


def _local(value: datetime) -> datetime:
    """Naive times are the user's local time."""
    return value if value.tzinfo else value.replace(tzinfo=runtime.now().tzinfo)


def _events() -> list[dict[str, Any]]:
    return sorted(runtime.all_values(_ns()), key=lambda e: e["start"])


def _span(event: dict[str, Any]) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(event["start"]), datetime.fromisoformat(event["end"])


def _when(event: dict[str, Any]) -> str:
    start, end = _span(event)
    return f"{start:%a %d %b} {start:%H:%M}-{end:%H:%M}"


def _line(event: dict[str, Any]) -> str:
    where = f" at {event['location']}" if event.get("location") else ""
    return f"{_when(event)} {event['title']}{where}"


class AddEventArgs(BaseModel):
    title: str = Field(min_length=1, max_length=120, description="what the event is")
    start: datetime = Field(description="ISO 8601 start, e.g. 2026-05-01T09:00")
    end: datetime | None = Field(default=None, description="ISO 8601 end; or give duration_min")
    duration_min: int | None = Field(default=None, gt=0, le=7 * 24 * 60, description="length in minutes (default 60)")
    location: str | None = Field(default=None, max_length=120, description="where it happens")
    allow_conflicts: bool = Field(default=True, description="false: refuse to add an event that overlaps another")

    @model_validator(mode="after")
    def _order(self) -> AddEventArgs:
        if self.end is not None and _local(self.end) <= _local(self.start):
            raise ValueError("end must be after start")
        return self


@tool("add_event", args_schema=AddEventArgs)
def add_event(title: str, start: datetime, end: datetime | None = None, duration_min: int | None = None,
              location: str | None = None, allow_conflicts: bool = True) -> dict[str, Any]:
    """Add an event to the user's calendar; reports events it overlaps."""
    start = _local(start)
    end = _local(end) if end else start + timedelta(minutes=duration_min or DEFAULT_MINUTES)
    conflicts = [e for e in _events() if _span(e)[0] < end and start < _span(e)[1]]
    if conflicts and not allow_conflicts:
        raise ToolError("the event overlaps " + "; ".join(_line(e) for e in conflicts) + ": pick another time")
    event = {"id": uuid.uuid4().hex[:8], "title": title.strip(), "start": start.isoformat(timespec="minutes"),
             "end": end.isoformat(timespec="minutes"), "location": (location or "").strip() or None,
             "created_at": runtime.now().isoformat(timespec="seconds")}
    runtime.current_store().put(_ns(), event["id"], event)
    message = f"Added '{event['title']}' to your calendar on {_when(event)}"
    message += f" at {event['location']}." if event["location"] else "."
    if conflicts:
        message += " Note: it overlaps " + "; ".join(_line(e) for e in conflicts) + "."
    return {"message": message, "event": event, "conflicts": conflicts}


def _window(day: Date | None, days: int) -> tuple[datetime, datetime]:
    tz = runtime.now().tzinfo
    first = datetime.combine(day or runtime.now().date(), time(0), tzinfo=tz)
    return first, first + timedelta(days=days)


class ListEventsArgs(BaseModel):
    day: Date | None = Field(default=None, description="first day to list (ISO date); default today")
    days: int = Field(default=1, ge=1, le=366, description="how many days from `day`")


@tool("list_events", args_schema=ListEventsArgs)
def list_events(day: Date | None = None, days: int = 1) -> dict[str, Any]:
    """List the user's events for a day (default today) or a range of days."""
    first, last = _window(day, days)
    found = [e for e in _events() if _span(e)[0] < last and first < _span(e)[1]]
    period = f"{first:%a %d %b}" + (f" to {last - timedelta(days=1):%a %d %b}" if days > 1 else "")
    if not found:
        return {"message": f"Your calendar is free on {period}.", "events": [], "from": first.isoformat(), "days": days}
    lines = "; ".join(_line(e) for e in found)
    return {"message": f"{len(found)} event(s) on {period}: {lines}.", "events": found, "from": first.isoformat(), "days": days}


class DeleteEventArgs(BaseModel):
    event_id: str | None = Field(default=None, description="id of the event")
    title: str | None = Field(default=None, description="title (or part of it) of the event")
    day: Date | None = Field(default=None, description="only events on this day (ISO date)")
    all_matches: bool = Field(default=False, description="delete every match instead of refusing when several match")

    @model_validator(mode="after")
    def _something(self) -> DeleteEventArgs:
        if not (self.event_id or self.title or self.day):
            raise ValueError("give event_id, title or day")
        return self


@tool("delete_event", args_schema=DeleteEventArgs)
def delete_event(event_id: str | None = None, title: str | None = None, day: Date | None = None,
                 all_matches: bool = False) -> dict[str, Any]:
    """Delete an event by id, or by title and/or day."""
    events = _events()
    chosen = [e for e in events if e["id"] == event_id] if event_id else events
    if title:
        wanted = title.lower().strip()
        exact = [e for e in chosen if e["title"].lower() == wanted]
        within = [e for e in chosen if wanted in e["title"].lower()]
        around = [e for e in chosen if e["title"].lower() in wanted]  # "dentist appointment" finds "dentist"
        chosen = exact or within or around
    if day:
        first, last = _window(day, 1)
        chosen = [e for e in chosen if first <= _span(e)[0] < last]
    if not chosen:
        upcoming = "; ".join(f"{_line(e)} ({e['id']})" for e in events[:10]) or "none"
        raise ToolError(f"no event matches id={event_id!r} title={title!r} day={day}; your events: {upcoming}")
    if len(chosen) > 1 and not all_matches:
        listed = "; ".join(f"{_line(e)} (id {e['id']})" for e in chosen)
        raise ToolError(f"{len(chosen)} events match: {listed}; give event_id or day, or all_matches=true")
    for event in chosen:
        runtime.current_store().delete(_ns(), event["id"])
    return {"message": "Deleted " + "; ".join(_line(e) for e in chosen) + ".", "deleted": chosen}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """RFC 5545 line folding: at most 75 octets per line, continuation lines start with a space."""
    out, current = [], b""
    for char in line:
        encoded = char.encode()
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current.decode())
            current = b""
        current += encoded
    out.append(current.decode())
    return "\r\n ".join(out)


def _utc(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def to_ics(events: list[dict[str, Any]], stamp: datetime) -> str:
    """An iCalendar (RFC 5545) document for `events`, CRLF line endings."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//plangate//calendar//EN", "CALSCALE:GREGORIAN"]
    for event in events:
        lines += ["BEGIN:VEVENT", f"UID:{event['id']}@plangate", f"DTSTAMP:{stamp.astimezone(UTC):%Y%m%dT%H%M%SZ}",
                  f"DTSTART:{_utc(event['start'])}", f"DTEND:{_utc(event['end'])}", f"SUMMARY:{_escape(event['title'])}"]
        if event.get("location"):
            lines.append(f"LOCATION:{_escape(event['location'])}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


class ExportArgs(BaseModel):
    day: Date | None = Field(default=None, description="first day to export (ISO date); default: every event")
    days: int = Field(default=1, ge=1, le=366, description="how many days from `day`")


@tool("export_ics", args_schema=ExportArgs)
def export_ics(day: Date | None = None, days: int = 1) -> dict[str, Any]:
    """Export the user's events (all, or a day/range) as iCalendar (.ics) text."""
    events = _events()
    if day is not None:
        first, last = _window(day, days)
        events = [e for e in events if _span(e)[0] < last and first < _span(e)[1]]
    ics = to_ics(events, runtime.now())
    return {"message": f"Exported {len(events)} event(s) as iCalendar ({len(ics)} bytes); save the 'ics' field as a .ics file.",
            "ics": ics, "count": len(events)}


NOUNS = ["calendar", "appointment", "meeting", "event"]  # in every calendar tool: names the domain without favouring one tool
TOOLS = [
    describe_tool(add_event, domain="calendar", default=True, action="add the event to your calendar",
                  keywords=[*NOUNS, "add", "to my calendar", "to the calendar", "schedule", "book", "put", "pencil in", "create an event", "to my agenda"],
                  slots={"title": "title", "start": "datetime", "duration_min": "duration_min", "location": "place"}),
    describe_tool(list_events, domain="calendar", action="read your calendar",
                  keywords=[*NOUNS, "what's on my calendar", "what is on my calendar", "on my calendar", "my calendar",
                            "agenda", "my schedule", "what do i have", "list events", "show my calendar", "am i free",
                            "my appointments", "my events", "do i have", "anything on", "free on", "meetings",
                            "my day", "check my calendar"],
                  slots={"day": "date"}),
    describe_tool(delete_event, domain="calendar", action="delete the event",
                  keywords=[*NOUNS, "delete", "remove", "cancel", "cancel my", "cancel the", "from my calendar", "delete event",
                            "cancel appointment", "cancel my appointment", "cancel the meeting"],
                  slots={"title": "title", "day": "date"}),
    describe_tool(export_ics, domain="calendar", action="export your calendar",
                  keywords=[*NOUNS, "export", "ics", "icalendar", "ical", "export my calendar"],
                  slots={"day": "date"}),
]
