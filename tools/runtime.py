"""What a tool can see of the run it is part of: the Store, the user, the clock.

Inside a graph run these come from LangGraph (`get_store`, `get_runtime`); outside one (a tool
called directly, a notebook cell) a process-local InMemoryStore and the env user are used.
Tools call `runtime.now()` through the module so tests can patch one clock.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from langgraph.config import get_store
from langgraph.runtime import get_runtime
from langgraph.store.base import BaseStore
from langgraph.store.memory import InMemoryStore

_fallback_store = InMemoryStore()
PAGE = 500


def current_store() -> BaseStore:
    try:
        store = get_store()
    except (RuntimeError, KeyError):  # outside a graph run, or inside a runnable that is not a graph
        store = None
    return store if store is not None else _fallback_store


def current_user() -> str:
    try:
        context = get_runtime().context
    except (RuntimeError, KeyError, AttributeError, TypeError):
        context = None
    user = context.get("user_id") if isinstance(context, dict) else getattr(context, "user_id", None)
    return str(user or os.environ.get("PLANGATE_USER_ID") or "default")


def user_label(user: str) -> str:
    """A user id as one Store namespace label, whatever the id holds (dots, slashes, @, unicode, nothing).

    Store labels may not contain "." or be empty, and Postgres text cannot hold NUL, so "%", ".", control
    characters and an empty id are percent-encoded; everything else is kept ("alice" stays "alice").
    Different ids always give different labels.
    """
    if not user:
        return "%"  # never the output of the encoding below, which writes "%" only as "%XX"
    return "".join(f"%{ord(c):02X}" if c in "%." or ord(c) < 0x20 or ord(c) == 0x7F else c for c in user)


def namespace(kind: str, user: str | None = None) -> tuple[str, ...]:
    """The Store namespace of one kind of data for one user: ("plangate", kind, user_label(user))."""
    return ("plangate", kind, user_label(user or current_user()))


def all_values(ns: tuple[str, ...], store: BaseStore | None = None) -> list[dict[str, Any]]:
    """Every value stored under `ns` (paged, so large namespaces are read whole)."""
    store = store or current_store()
    values: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = store.search(ns, limit=PAGE, offset=offset)
        values.extend(item.value for item in page if item.namespace == ns)
        if len(page) < PAGE:
            return values
        offset += PAGE


def now() -> datetime:
    return datetime.now().astimezone()


def home_dir() -> Path:
    """Where plangate keeps user files by default (~/.plangate)."""
    return Path(os.environ.get("PLANGATE_HOME") or Path.home() / ".plangate").expanduser()


def format_duration(seconds: float) -> str:
    """'1 h 5 min', '10 min', '45 s'."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{secs} s" if secs and not hours else ""]
    return " ".join(p for p in parts if p) or "0 s"
