"""Timers: set (a duration or a clock time), list and cancel, kept in the LangGraph Store per user.

Timers that rang since the last run are picked up by `collect_expired_timers()` (the router calls it
at the start of a turn), reported once and, if asked, sent to the notification sink.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from langchain_core.tools import tool
from langgraph.store.base import BaseStore
from pydantic import BaseModel, Field, model_validator

from plangate.tools import runtime
from plangate.tools.errors import ToolError
from plangate.tools.metadata import describe_tool
from plangate.tools.runtime import format_duration

log = logging.getLogger("plangate")
KEEP_RUNG_S = 24 * 3600  # reported timers stay listed as "rang at" for a day
ALL = ("all", "timers", "my timers", "every timer", "all timers", "all my timers")


def _namespace(user: str | None = None) -> tuple[str, ...]:
    return runtime.namespace("timers", user)


def _name(label: str) -> str:
    return "Timer" if label == "timer" else f"Timer '{label}'"


class SetTimerArgs(BaseModel):
    duration_s: int | None = Field(default=None, gt=0, le=7 * 86400, description="timer length in seconds")
    at: str | None = Field(default=None, description="ISO 8601 time when it should ring, instead of a duration")
    label: str = Field(default="timer", max_length=80, description="what the timer is for")

    @model_validator(mode="after")
    def _one_of(self) -> SetTimerArgs:
        if self.duration_s is None and self.at is None:
            raise ValueError("give duration_s (seconds) or at (an ISO time)")
        return self


@tool("set_timer", args_schema=SetTimerArgs)
def set_timer(duration_s: int | None = None, at: str | None = None, label: str = "timer") -> dict[str, Any]:
    """Set a timer for a duration in seconds or until a clock time."""
    start = runtime.now()
    if duration_s is None and at is not None:
        try:
            ends = datetime.fromisoformat(at)
        except ValueError:
            raise ToolError(f"at={at!r} is not an ISO time like 2026-05-01T09:30") from None
        ends = ends if ends.tzinfo else ends.replace(tzinfo=start.tzinfo)
        if ends <= start:
            raise ToolError(f"at={at} is in the past")
        duration_s = int((ends - start).total_seconds())
    else:
        ends = start + timedelta(seconds=duration_s or 0)
    label = (label or "timer").strip() or "timer"
    timer = {"id": uuid.uuid4().hex[:8], "label": label, "duration_s": duration_s,
             "created_at": start.isoformat(timespec="seconds"), "ends_at": ends.isoformat(timespec="seconds")}
    runtime.current_store().put(_namespace(), timer["id"], timer)
    return {"message": f"{_name(label)} set for {format_duration(duration_s or 0)} (rings at {ends:%H:%M}).", "timer": timer}


def _timers(store: BaseStore | None = None, user: str | None = None) -> list[dict[str, Any]]:
    return sorted(runtime.all_values(_namespace(user), store), key=lambda t: t["ends_at"])


@tool("list_timers")
def list_timers() -> dict[str, Any]:
    """List the user's timers with the time left; rung timers are reported as expired."""
    current = runtime.now()
    active, expired = [], []
    for timer in _timers():
        left = (datetime.fromisoformat(timer["ends_at"]) - current).total_seconds()
        (active if left > 0 else expired).append({**timer, "seconds_left": max(int(left), 0)})
    if not active and not expired:
        return {"message": "You have no timers.", "timers": [], "expired": []}
    def called(t: dict[str, Any]) -> str:
        return "timer" if t["label"] == "timer" else f"'{t['label']}'"

    parts = [f"{called(t)} ({format_duration(t['seconds_left'])} left)" for t in active]
    parts += [f"{called(t)} (rang at {datetime.fromisoformat(t['ends_at']):%H:%M})" for t in expired]
    head = f"{len(active)} timer(s) running" if active else "No timers running"
    return {"message": f"{head}: " + ", ".join(parts) + ".", "timers": active, "expired": expired}


class CancelTimerArgs(BaseModel):
    timer_id: str | None = Field(default=None, description="id of the timer to cancel")
    label: str | None = Field(default=None, description="label of the timer(s) to cancel; 'all' cancels every timer")


@tool("cancel_timer", args_schema=CancelTimerArgs)
def cancel_timer(timer_id: str | None = None, label: str | None = None) -> dict[str, Any]:
    """Cancel a timer by id or label ('all' cancels every timer)."""
    current = runtime.now()
    timers = [t for t in _timers() if datetime.fromisoformat(t["ends_at"]) > current]  # rung timers are not cancellable
    wanted = (label or "").lower().strip()
    if timer_id:
        chosen = [t for t in timers if t["id"] == timer_id]
    elif wanted and wanted not in ALL and wanted not in ("timer", "my timer", "the timer"):
        chosen = [t for t in timers if t["label"].lower() == wanted] or [t for t in timers if wanted in t["label"].lower()]
    else:
        chosen = timers if wanted in ALL or len(timers) == 1 else []
    if not chosen:
        known = ", ".join(f"{t['label']} ({t['id']})" for t in timers) or "none"
        why = "which one? " if len(timers) > 1 and not (timer_id or wanted) else ""
        raise ToolError(f"{why}no running timer matches id={timer_id!r} label={label!r}; your timers: {known}")
    for timer in chosen:
        runtime.current_store().delete(_namespace(), timer["id"])
    return {"message": f"Cancelled {len(chosen)} timer(s): " + ", ".join(t["label"] for t in chosen), "cancelled": chosen}


def collect_expired_timers(store: BaseStore | None = None, user: str | None = None, *,
                           notify: bool = True) -> list[dict[str, Any]]:
    """Timers that rang and were not reported yet, marked reported (and sent to the notification sink).

    Returns `[{id, label, ends_at, message}]`, oldest first. Reported timers older than a day are deleted.
    Notification failures are logged, never raised: reporting must not break a turn.
    """
    store = store or runtime.current_store()
    user = user or runtime.current_user()
    current = runtime.now()
    rung: list[dict[str, Any]] = []
    for timer in _timers(store, user):
        ends = datetime.fromisoformat(timer["ends_at"])
        if ends > current:
            continue
        if timer.get("reported"):
            if (current - ends).total_seconds() > KEEP_RUNG_S:
                store.delete(_namespace(user), timer["id"])
            continue
        store.put(_namespace(user), timer["id"], {**timer, "reported": current.isoformat(timespec="seconds")})
        message = f"{_name(timer['label'])} ({format_duration(timer.get('duration_s') or 0)}) rang at {ends:%H:%M}."
        rung.append({"id": timer["id"], "label": timer["label"], "ends_at": timer["ends_at"], "message": message})
    if notify and rung:
        from plangate.tools.notification import deliver

        for item in rung:
            try:
                deliver(item["message"], title="Timer", priority="high")
            except Exception as exc:  # a dead webhook must not break the turn that reports the timer
                log.warning("plangate: couldn't send the timer notification: %s", exc)
    return rung


NOUNS = ["timer"]  # in every timer tool: names the domain without favouring one tool
TOOLS = [
    describe_tool(set_timer, domain="timer", default=True, action="set the timer",
                  keywords=[*NOUNS, "set a timer", "alarm", "countdown", "remind me in", "wake me", "timer for", "remind me",
                            "remind me to", "reminder", "wake me up", "alarm for"],
                  slots={"duration_s": "duration_s", "at": "datetime", "label": "label"}),
    describe_tool(list_timers, domain="timer", action="list your timers",
                  keywords=[*NOUNS, "list timers", "my timers", "show timers", "what timers", "timers", "time left",
                            "how long", "how much longer", "left on", "how much time", "timers running", "how long until"]),
    describe_tool(cancel_timer, domain="timer", action="cancel the timer",
                  keywords=[*NOUNS, "cancel", "cancel my", "cancel all", "cancel the", "stop the timer", "delete timer", "remove timer",
                            "cancel timer", "stop", "delete", "remove"],
                  slots={"label": "label"}),
]
