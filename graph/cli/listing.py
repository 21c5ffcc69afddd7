"""`plangate threads` and `plangate stats`: every stored thread, one row each, even when one cannot be read.

A thread whose checkpoint cannot be decoded (a corrupted row) is flagged as "unreadable", named on stderr, and
skipped; the other threads are listed as usual. Thread ids and requests are shown with control characters
escaped (`printable`), so an id holding a terminal escape sequence cannot recolour or rewrite the terminal.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import HumanMessage
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from plangate.graph.cli.args import dump_json, printable
from plangate.graph.persistence.handle import Persistence
from plangate.graph.persistence.savers import list_threads

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def shown(text: Any) -> str:
    """`printable(text)` with rich markup escaped, for console output."""
    return escape(printable(text))


def first_line(exc: BaseException) -> str:
    return printable(f"{type(exc).__name__}: {exc}".splitlines()[0][:200])


@dataclass
class ThreadRow:
    thread: str
    created: str
    snapshot: Any = None  # None when the thread cannot be read
    problem: str | None = None


def request_of(values: dict[str, Any]) -> str:
    if values.get("request"):
        return values["request"]
    humans = [m for m in values.get("messages") or [] if isinstance(m, HumanMessage)]
    return str(humans[-1].content) if humans else ""


def status_of(snapshot: Any) -> str:
    if any(task.interrupts for task in snapshot.tasks):
        return "waiting"
    if snapshot.next:
        return "interrupted"
    if snapshot.values.get("error"):
        return "rejected" if snapshot.values["error"] == "plan rejected" else "error"
    results = snapshot.values.get("step_results") or {}
    return "partial" if any(r.get("status") == "failed" for r in results.values()) else "done"


def thread_rows(app: Any, persistence: Persistence, limit: int, created: bool = True) -> list[ThreadRow]:
    """The newest threads; a thread whose checkpoints cannot be read comes back with its `problem` instead."""
    rows = []
    for thread, first in list_threads(persistence, limit):
        try:
            first_tuple = app.checkpointer.get_tuple(
                {"configurable": {"thread_id": thread, "checkpoint_ns": "", "checkpoint_id": first}}) if created else None
            created_at = str(first_tuple.checkpoint.get("ts", "")) if first_tuple else ""
            rows.append(ThreadRow(thread, created_at, app.get_state({"configurable": {"thread_id": thread}})))
        except Exception as exc:  # one bad row must not hide every other thread
            rows.append(ThreadRow(thread, "", problem=first_line(exc)))
    for row in rows:
        if row.problem:
            err.print(f"[yellow]warning:[/yellow] thread {escape(repr(row.thread))} has an unreadable checkpoint "
                      f"({escape(row.problem)}); skipped")
    return rows


def print_table(key: tuple[str, int], names: tuple[str, ...], rows: list[list[str]]) -> None:
    """A table whose first column (`key`: title, min width) holds ids that fold rather than get cut."""
    table = Table()
    table.add_column(key[0], overflow="fold", min_width=key[1])
    for name in names:
        table.add_column(name)
    for row in rows:
        table.add_row(*(shown(cell) for cell in row))
    out.print(table)


def threads(app: Any, args: argparse.Namespace, persistence: Persistence) -> int:
    rows = []
    for row in thread_rows(app, persistence, args.limit):
        if row.snapshot is None:
            rows.append({"thread_id": row.thread, "created": "", "status": "unreadable", "route": None,
                         "request": "", "error": row.problem})
            continue
        values = row.snapshot.values
        rows.append({"thread_id": row.thread, "created": row.created[:19], "status": status_of(row.snapshot),
                     "route": values.get("route"), "request": request_of(values)[:80]})
    if args.json:
        dump_json(rows)
        return 0
    if not rows:
        out.print("no threads yet")
        return 0
    print_table(("thread", 12), ("created", "status", "route", "request"),
                [[r["thread_id"], r["created"], r["status"], r["route"] or "", r.get("error") or r["request"]] for r in rows])
    return 0


def stats(app: Any, args: argparse.Namespace, persistence: Persistence) -> int:
    by_route: dict[str, list[float]] = {}
    outcomes: dict[str, int] = {}
    for row in thread_rows(app, persistence, 100_000, created=False):
        if row.snapshot is None:
            outcomes["unreadable"] = outcomes.get("unreadable", 0) + 1
            continue
        status, values = status_of(row.snapshot), row.snapshot.values
        outcomes[status] = outcomes.get(status, 0) + 1
        duration = (values.get("metrics") or {}).get("duration_ms")
        if duration is not None:
            by_route.setdefault(values.get("route") or "?", []).append(duration)
    total = sum(outcomes.values())
    summary = {"threads": total, "success_rate": round(outcomes.get("done", 0) / total, 3) if total else None,
               "outcomes": outcomes,
               "mean_duration_ms": {route: round(statistics.mean(v), 1) for route, v in by_route.items()}}
    if args.json:
        dump_json(summary)
    else:
        out.print(f"threads: {total}, success rate: {summary['success_rate']}, outcomes: {outcomes}")
        for route, mean in summary["mean_duration_ms"].items():
            out.print(f"  {route}: mean {mean} ms over {len(by_route[route])} thread(s)")
    return 0
