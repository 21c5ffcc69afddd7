"""One writer per thread: a lock held while a run writes a thread, so a second writer waits, then fails clearly.

Without it two processes (or two calls in one process) on one thread both run from the same checkpoint: the
thread forks, one turn is lost, and a step or an approved action runs twice. The lock is
- on Postgres (PostgresSaver, AsyncPostgresSaver): a session advisory lock, on a connection held for the run;
- on SQLite (SqliteSaver, AsyncSqliteSaver): an exclusive `flock` on a per-thread lock file in the temp folder;
- always, too: a process-local lock, so two calls in one process exclude each other on any checkpointer.
The lock is re-entrant for its holder (the same OS thread, or the same asyncio task): `invoke_durably` inside
your own `thread_lock` on the same thread runs instead of waiting for itself.
A killed process cannot leave a stale lock: the OS drops its flock and Postgres ends its session.

A second writer polls for up to `PLANGATE_THREAD_LOCK_WAIT_S` seconds (default 30), then gets `ThreadBusy`,
which names the thread. Used by `invoke_durably`/`ainvoke_durably` and the CLI's run, resume and fork.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: the process-local lock only
    fcntl = None  # type: ignore[assignment]

DEFAULT_WAIT_S = 30.0
POLL_S = 0.05
_local = threading.Lock()
_held: dict[tuple[str, str], list[Any]] = {}  # key -> [holder, depth]
BUSY, FIRST, NESTED = 0, 1, 2


class ThreadBusy(RuntimeError):
    """Another run is writing this thread and did not finish within the wait."""

    def __init__(self, thread: str, waited_s: float) -> None:
        self.thread = thread
        super().__init__(f"thread {thread!r} is busy: another run is writing to it (waited {waited_s:g}s); "
                         "try again when it has finished")


def wait_seconds() -> float:
    """$PLANGATE_THREAD_LOCK_WAIT_S, else 30; a bad value is one clear error."""
    raw = os.environ.get("PLANGATE_THREAD_LOCK_WAIT_S", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_WAIT_S
    except ValueError:
        raise ValueError(f"PLANGATE_THREAD_LOCK_WAIT_S={raw!r} is not a number of seconds") from None
    if not 0 <= value < float("inf"):
        raise ValueError(f"PLANGATE_THREAD_LOCK_WAIT_S={raw!r} must be a finite number of seconds >= 0")
    return value


def _thread_id(config: dict[str, Any]) -> str | None:
    thread = (config or {}).get("configurable", {}).get("thread_id")
    return None if thread is None else str(thread)


def _kind(saver: Any) -> str:
    module = type(saver).__module__
    if module.startswith("langgraph.checkpoint.postgres"):
        return "postgres"
    if module.startswith("langgraph.checkpoint.sqlite"):
        return "sqlite"
    return "local"


# Advisory locks are per database: the key also hashes the schema, so the same thread id in two schemas differs.
_PG_KEY = "hashtextextended(current_schema() || ':plangate-thread:' || %s, 0)"
_PG_LOCK = f"SELECT pg_try_advisory_lock({_PG_KEY}) AS ok"
_PG_UNLOCK = f"SELECT pg_advisory_unlock({_PG_KEY})"


def _lock_path(db_file: str, thread: str) -> Path:
    digest = hashlib.sha256(f"{db_file}\0{thread}".encode()).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"plangate-thread-{digest}.lock"


def _sqlite_file(rows: list[Any]) -> str:
    """The main database's file from PRAGMA database_list rows ("" for an in-memory database)."""
    return next((str(row[2] or "") for row in rows if row[1] == "main"), "")


def _try_flock(path: Path) -> int | None:
    """An fd holding an exclusive flock on `path`, or None if another holder has it."""
    assert fcntl is not None  # callers check: no flock on Windows
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        same = os.fstat(fd).st_ino == os.stat(path).st_ino  # not a file the previous holder just removed
    except (BlockingIOError, FileNotFoundError):
        same = False
    if not same:
        os.close(fd)
        return None
    return fd


def _release_flock(path: Path, fd: int) -> None:
    with contextlib.suppress(OSError):
        path.unlink()  # removed while still locked, so a waiter never locks a file no one else can see
    os.close(fd)


def _ok(row: Any) -> bool:
    return bool(row["ok"] if isinstance(row, dict) else row[0])


def _try_local(key: tuple[str, str], holder: Any) -> int:
    """FIRST when this holder now has the key, NESTED when it already had it, BUSY when someone else has it."""
    with _local:
        held = _held.get(key)
        if held is None:
            _held[key] = [holder, 1]
            return FIRST
        if held[0] == holder:
            held[1] += 1
            return NESTED
        return BUSY


def _drop_local(key: tuple[str, str]) -> None:
    with _local:
        held = _held[key]
        held[1] -= 1
        if held[1] == 0:
            del _held[key]


class _Deadline:
    def __init__(self, thread: str) -> None:
        self.thread, self.wait, self.start = thread, wait_seconds(), time.monotonic()

    def check(self) -> None:
        if time.monotonic() - self.start >= self.wait:
            raise ThreadBusy(self.thread, self.wait)


@contextmanager
def thread_lock(checkpointer: Any, config: dict[str, Any]) -> Iterator[None]:
    """Hold the thread of `config` for one writer (no-op without a checkpointer or a thread id)."""
    thread = _thread_id(config)
    if checkpointer is None or thread is None:
        yield
        return
    deadline, kind = _Deadline(thread), _kind(checkpointer)
    local = (f"{kind}:{id(checkpointer)}", thread)
    scope = ""
    if kind == "sqlite" and isinstance(checkpointer.conn, sqlite3.Connection):
        with getattr(checkpointer, "lock", contextlib.nullcontext()):
            scope = _sqlite_file(checkpointer.conn.execute("PRAGMA database_list").fetchall())
        local = (f"sqlite:{scope or id(checkpointer)}", thread)
    while (taken := _try_local(local, ("thread", threading.get_ident()))) == BUSY:
        deadline.check()
        time.sleep(POLL_S)
    try:
        if taken == NESTED:  # this holder already has the cross-process lock too
            yield
        elif kind == "sqlite" and scope and fcntl is not None:
            path = _lock_path(scope, thread)
            while (fd := _try_flock(path)) is None:
                deadline.check()
                time.sleep(POLL_S)
            try:
                yield
            finally:
                _release_flock(path, fd)
        elif kind == "postgres":
            with _pg_session(checkpointer.conn) as conn:
                while not _ok(conn.execute(_PG_LOCK, (thread,)).fetchone()):
                    deadline.check()
                    time.sleep(POLL_S)
                try:
                    yield
                finally:
                    conn.execute(_PG_UNLOCK, (thread,))
        else:
            yield
    finally:
        _drop_local(local)


@contextmanager
def _pg_session(conn: Any) -> Iterator[Any]:
    if hasattr(conn, "connection"):  # a pool: one connection of it, held for the run
        with conn.connection() as held:
            yield held
    else:
        yield conn


@asynccontextmanager
async def _apg_session(conn: Any) -> AsyncIterator[Any]:
    if hasattr(conn, "connection"):
        async with conn.connection() as held:
            yield held
    else:
        yield conn


@asynccontextmanager
async def athread_lock(checkpointer: Any, config: dict[str, Any]) -> AsyncIterator[None]:
    """The async twin of `thread_lock`: waits without blocking the event loop."""
    thread = _thread_id(config)
    if checkpointer is None or thread is None:
        yield
        return
    deadline, kind = _Deadline(thread), _kind(checkpointer)
    local = (f"{kind}:{id(checkpointer)}", thread)
    scope = ""
    if kind == "sqlite" and not isinstance(checkpointer.conn, sqlite3.Connection):  # aiosqlite
        async with checkpointer.conn.execute("PRAGMA database_list") as cursor:
            scope = _sqlite_file(list(await cursor.fetchall()))
        local = (f"sqlite:{scope or id(checkpointer)}", thread)
    while (taken := _try_local(local, ("task", id(asyncio.current_task())))) == BUSY:
        deadline.check()
        await asyncio.sleep(POLL_S)
    try:
        if taken == NESTED:
            yield
        elif kind == "sqlite" and scope and fcntl is not None:
            path = _lock_path(scope, thread)
            while (fd := await asyncio.to_thread(_try_flock, path)) is None:
                deadline.check()
                await asyncio.sleep(POLL_S)
            try:
                yield
            finally:
                await asyncio.to_thread(_release_flock, path, fd)
        elif kind == "postgres":
            async with _apg_session(checkpointer.conn) as conn:
                while not _ok(await (await conn.execute(_PG_LOCK, (thread,))).fetchone()):
                    deadline.check()
                    await asyncio.sleep(POLL_S)
                try:
                    yield
                finally:
                    await conn.execute(_PG_UNLOCK, (thread,))
        else:
            yield
    finally:
        _drop_local(local)
