"""Custom stream events (`stream_mode="custom"`): dicts with an "event" key."""

from __future__ import annotations

import time
from typing import Any

from langgraph.config import get_stream_writer

EVENTS = (
    "route_decided", "plan_created", "step_started", "step_retry", "step_completed",
    "step_failed", "step_skipped", "replanned", "progress", "timers_rang",
)


def emit(event: str, **fields: Any) -> None:
    """Send one event to custom-mode stream consumers; a no-op outside a graph run."""
    try:
        writer = get_stream_writer()
    except RuntimeError:
        return
    writer({"event": event, "ts": round(time.time(), 3), **fields})
