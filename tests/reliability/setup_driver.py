"""A process that sets up a fresh database and can be stopped at any SQL statement of that setup.

    python -m tests.reliability.setup_driver TARGET --count          # print the statements setup runs, one a line
    python -m tests.reliability.setup_driver TARGET --pause-at N --marker FILE   # sleep before statement N

TARGET is a SQLite path or a postgresql:// URL, opened with `open_persistence` (`--aio`: open_async_persistence),
exactly as the CLI and apps do. Statements are counted with SQLite's trace callback on every connection plangate
opens, or at psycopg's `Cursor.execute`; before statement N the driver writes FILE (holding the statement) and
waits until FILE is removed, so a test can SIGKILL it inside setup (or let it run into a chosen statement).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from plangate.graph.persistence import savers

seen: list[str] = []


def _statement(sql: str, pause_at: int | None, marker: Path | None) -> None:
    seen.append(" ".join(str(sql).split())[:200])
    if pause_at is not None and len(seen) == pause_at and marker is not None:
        marker.write_text(seen[-1], encoding="utf-8")
        deadline = time.monotonic() + 600
        while marker.exists() and time.monotonic() < deadline:  # the test removes the marker to let it go on
            time.sleep(0.02)


def _hook_sqlite(pause_at: int | None, marker: Path | None) -> None:
    connect = savers._connect

    def traced(path: str, *, autocommit: bool) -> sqlite3.Connection:
        conn = connect(path, autocommit=autocommit)
        conn.set_trace_callback(lambda sql: _statement(sql, pause_at, marker))
        return conn

    savers._connect = traced  # type: ignore[assignment]


def _hook_postgres(pause_at: int | None, marker: Path | None) -> None:
    import psycopg

    for cls in (psycopg.Cursor, psycopg.AsyncCursor):
        original = cls.execute

        if cls is psycopg.Cursor:
            def execute(self: Any, query: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
                _statement(query if isinstance(query, str) else repr(query), pause_at, marker)
                return _original(self, query, *args, **kwargs)
        else:
            async def execute(self: Any, query: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
                _statement(query if isinstance(query, str) else repr(query), pause_at, marker)
                return await _original(self, query, *args, **kwargs)
        cls.execute = execute  # type: ignore[method-assign]


async def _open_async(target: str) -> None:
    async with savers.open_async_persistence(target):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target")
    parser.add_argument("--count", action="store_true")
    parser.add_argument("--pause-at", type=int)
    parser.add_argument("--marker", type=Path)
    parser.add_argument("--aio", action="store_true")
    args = parser.parse_args(argv)
    hook = _hook_postgres if savers.is_postgres(args.target) else _hook_sqlite
    hook(args.pause_at, args.marker)
    if args.aio:
        asyncio.run(_open_async(args.target))
    else:
        with savers.open_persistence(args.target):
            pass
    if args.count:
        print("\n".join(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
