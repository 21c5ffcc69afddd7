"""Notifications to a configurable sink: a log file (default), stdout, or an HTTP webhook.

`PLANGATE_NOTIFY` picks the sink: unset -> ~/.plangate/notifications.log; "stdout"; "off" (dropped);
an http(s) URL -> POST JSON {title, message, text, priority, user, sent_at} (Slack-style "text"
included); anything else is a file path. Webhook URLs often hold tokens, so only their host is ever shown.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any, Literal

from langchain_core.tools import tool
from pydantic import BaseModel, Field

from plangate.tools import http, runtime
from plangate.tools.errors import ToolError
from plangate.tools.metadata import describe_tool

Priority = Literal["low", "normal", "high"]
_file_lock = threading.Lock()


def sink() -> tuple[str, str]:
    """(kind, target) of the configured sink: ('file', path), ('stdout', ''), ('off', '') or ('webhook', url)."""
    raw = os.environ.get("PLANGATE_NOTIFY", "").strip()
    if not raw:
        return "file", str(runtime.home_dir() / "notifications.log")
    if raw.lower() in ("stdout", "-"):
        return "stdout", ""
    if raw.lower() in ("off", "none", "null"):
        return "off", ""
    if raw.lower().startswith(("http://", "https://")):
        return "webhook", raw
    return "file", str(Path(raw).expanduser())


def deliver(message: str, title: str = "plangate", priority: Priority = "normal") -> dict[str, Any]:
    """Send one notification to the configured sink; returns what was sent and where (never a webhook's full URL)."""
    kind, target = sink()
    note = {"title": title, "message": message, "priority": priority, "user": runtime.current_user(),
            "sent_at": runtime.now().isoformat(timespec="seconds")}
    line = f"{note['sent_at']} [{priority}] {title} ({note['user']}): {' '.join(message.split())}"
    if kind == "file":
        path = Path(target)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with _file_lock, path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError as exc:
            raise ToolError(f"couldn't write the notification to {path}: {exc.strerror or exc}; check PLANGATE_NOTIFY") from None
        where = f"the log file {_tilde(path)}"
    elif kind == "stdout":
        print(f"🔔 {line}", file=sys.stdout, flush=True)
        where = "stdout"
    elif kind == "off":
        where = "nowhere (PLANGATE_NOTIFY=off)"
    else:
        payload = {**note, "text": f"{title}: {message}", "source": "plangate"}
        http.request("POST", target, service="the notification webhook", json=payload,
                     hint="check the network connection or PLANGATE_NOTIFY")
        where = f"the webhook at {http.host_of(target)}"
    return {**note, "sink": kind, "where": where}


def _tilde(path: Path) -> str:
    try:
        return "~/" + path.resolve().relative_to(Path.home().resolve()).as_posix()
    except ValueError:
        return str(path)


class NotifyArgs(BaseModel):
    message: str = Field(min_length=1, max_length=4000, description="what to tell the user")
    title: str = Field(default="plangate", min_length=1, max_length=120, description="short heading")
    priority: Priority = Field(default="normal", description="low, normal or high")


@tool("notify", args_schema=NotifyArgs)
def notify(message: str, title: str = "plangate", priority: Priority = "normal") -> dict[str, Any]:
    """Send the user a notification (log file, stdout or webhook, per PLANGATE_NOTIFY)."""
    sent = deliver(message, title, priority)
    preview = message if len(message) <= 60 else message[:57] + "..."
    return {"message": f"Notification sent to {sent['where']}: \"{preview}\"", "notification": sent}


TOOLS = [
    describe_tool(notify, domain="notification", default=True, side_effects=True, action="send the notification",
                  keywords=["notify", "notify me", "notification", "send me a notification", "alert me", "ping me",
                            "let me know", "send a notification", "push", "text me", "message me", "push notification", "to my phone", "my phone", "push a message",
                            "shoot me a text", "send me a text", "send me a message"],
                  slots={"message": "text"}),
]
