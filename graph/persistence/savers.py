"""Checkpointers and stores for a database: SQLite by default, Postgres by URL.

SQLite (embedded, one machine): every connection uses WAL and a 30 s busy timeout; a process holds one
checkpointer connection and one store connection per file, shared by every `open_sqlite` /
`open_async_sqlite` on that file (reference counted). Store transactions start with BEGIN IMMEDIATE, so
a read-then-write batch waits for the lock instead of failing with "database is locked".
Many *processes* writing one file still queue on SQLite's single writer lock: fine for a CLI and a
server, not for a fleet of replicas; use Postgres for that.

Postgres: `PLANGATE_DATABASE_URL=postgresql://...` (or a URL as `db`) switches to
langgraph-checkpoint-postgres (`plangate.graph.persistence.postgres`, re-exported here).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import sqlite3
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from langgraph.store.sqlite import SqliteStore
from langgraph.store.sqlite.aio import AsyncSqliteStore

from plangate.graph.persistence.handle import Persistence, stop_batch_task
from plangate.graph.persistence.postgres import open_async_postgres, open_postgres
from plangate.graph.persistence.target import (
    default_db_path,
    is_postgres,
    resolve_target,
)

BUSY_TIMEOUT_MS = 30_000


_ADD_COLUMN = re.compile(r"ADD\s+COLUMN\s+(\w+)", re.IGNORECASE)


def repair_store_migrations(conn: sqlite3.Connection) -> list[int]:
    """Record store migrations whose `ADD COLUMN` already ran; returns the versions recorded.

    SqliteStore.setup runs each migration, then records it in `store_migrations`, each step committed on its own.
    A kill between the two (say after `ALTER TABLE store ADD COLUMN expires_at`) left a file whose every later
    setup failed with "duplicate column name". The other migrations are `IF NOT EXISTS` and simply run again.
    """
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"store", "store_migrations"} <= tables:
        return []
    recorded = {row[0] for row in conn.execute("SELECT v FROM store_migrations")}
    columns = {row[1] for row in conn.execute("PRAGMA table_info(store)")}
    repaired = []
    for version, sql in enumerate(SqliteStore.MIGRATIONS):
        added = _ADD_COLUMN.search(sql)
        if version not in recorded and added and added.group(1) in columns:
            conn.execute("INSERT INTO store_migrations (v) VALUES (?)", (version,))
            repaired.append(version)
    if conn.in_transaction:
        conn.commit()
    return repaired


class ImmediateSqliteStore(SqliteStore):
    """SqliteStore whose write batches take the write lock up front (BEGIN IMMEDIATE), and whose setup
    repairs a migration a killed process left half-applied."""

    def setup(self) -> None:
        with self.lock:
            if not self.is_setup:
                repair_store_migrations(self.conn)
        super().setup()

    @contextmanager
    def _cursor(self, *, transaction: bool = True) -> Iterator[sqlite3.Cursor]:
        if not transaction:
            with super()._cursor(transaction=False) as cur:
                yield cur
            return
        if not self.is_setup:
            self.setup()
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            cur = self.conn.cursor()
            try:
                yield cur
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                cur.close()


class ImmediateAsyncSqliteStore(AsyncSqliteStore):
    """AsyncSqliteStore whose batches take the write lock up front (BEGIN IMMEDIATE)."""

    @asynccontextmanager
    async def _cursor(self, *, transaction: bool = True) -> AsyncIterator[Any]:
        if not transaction:
            async with super()._cursor(transaction=False) as cur:
                yield cur
            return
        if not self.is_setup:
            await self.setup()
        async with self.lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            async with self.conn.cursor() as cur:
                try:
                    yield cur
                except BaseException:
                    await self.conn.execute("ROLLBACK")
                    raise
                else:
                    await self.conn.execute("COMMIT")


def _file(path: str) -> str:
    if path == ":memory:":
        return path
    resolved = Path(path).expanduser().resolve()
    resolved.parent.mkdir(parents=True, exist_ok=True)
    return str(resolved)


@contextmanager
def _setup_lock(path: str) -> Iterator[None]:
    """Serialise schema setup of one file across processes (fresh processes race on the store's migrations)."""
    try:
        import fcntl
    except ImportError:  # Windows: no cross-process setup lock; open the file once before starting workers
        yield
        return
    digest = hashlib.sha256(path.encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"plangate-sqlite-{digest}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _setup_file(path: str) -> None:
    """Create the checkpoint and store tables (and switch the file to WAL) once, under the setup lock."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    if path == ":memory:":
        return
    with _setup_lock(path):
        conn = _connect(path, autocommit=True)
        try:
            SqliteSaver(conn).setup()
            ImmediateSqliteStore(conn).setup()
        finally:
            conn.close()


def _connect(path: str, *, autocommit: bool) -> sqlite3.Connection:
    isolation = None if autocommit else "DEFERRED"  # "DEFERRED" is sqlite3's default
    conn = sqlite3.connect(path, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=isolation)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


@dataclass
class _Shared:
    """One open database shared by every opener in this process."""

    users: int = 0
    persistence: Persistence | None = None
    closers: list[Any] = field(default_factory=list)
    ready: Any = None  # asyncio.Task for async openings


_sync_lock = threading.Lock()
_sync_open: dict[str, _Shared] = {}
_async_open: dict[tuple[str, int], _Shared] = {}


def _open_sqlite_files(path: str) -> _Shared:
    from langgraph.checkpoint.sqlite import SqliteSaver

    _setup_file(path)
    saver_conn = _connect(path, autocommit=False)
    store_conn = _connect(path, autocommit=True)
    try:
        saver = SqliteSaver(saver_conn)
        saver.setup()
        store = ImmediateSqliteStore(store_conn)
        store.setup()
    except BaseException:
        saver_conn.close()
        store_conn.close()
        raise
    return _Shared(persistence=Persistence(saver, store, f"sqlite:{path}"), closers=[saver_conn.close, store_conn.close])


@contextmanager
def open_sqlite(path: str | None = None) -> Iterator[Persistence]:
    """A SqliteSaver and a SqliteStore on one file (WAL, busy timeout), shared within the process."""
    path = _file(path or default_db_path())
    with _sync_lock:
        shared = _sync_open.get(path)
        if shared is None:
            shared = _open_sqlite_files(path)
            if path != ":memory:":
                _sync_open[path] = shared
        shared.users += 1
    try:
        yield shared.persistence  # type: ignore[misc]
    finally:
        with _sync_lock:
            shared.users -= 1
            if shared.users == 0:
                if _sync_open.get(path) is shared:
                    del _sync_open[path]
                for close in shared.closers:
                    close()


async def _open_async_sqlite_files(path: str) -> tuple[Persistence, list[Any]]:
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    await asyncio.to_thread(_setup_file, path)  # off the event loop
    saver_conn = await aiosqlite.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    store_conn = await aiosqlite.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        for conn in (saver_conn, store_conn):
            await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        saver = AsyncSqliteSaver(saver_conn)
        await saver.setup()
        store = ImmediateAsyncSqliteStore(store_conn)
        await store.setup()
    except BaseException:
        await saver_conn.close()
        await store_conn.close()
        raise
    return Persistence(saver, store, f"sqlite:{path}"), [partial(stop_batch_task, store), saver_conn.close, store_conn.close]


@asynccontextmanager
async def open_async_sqlite(path: str | None = None) -> AsyncIterator[Persistence]:
    """An AsyncSqliteSaver and AsyncSqliteStore on one file, for `ainvoke`/`astream` apps.

    Shared by every opener on the same event loop; nothing here blocks the loop."""
    path = await asyncio.to_thread(_file, path or default_db_path())
    key = (path, id(asyncio.get_running_loop()))
    shared = _async_open.get(key)
    if shared is None:
        shared = _Shared(ready=asyncio.ensure_future(_open_async_sqlite_files(path)))
        if path != ":memory:":
            _async_open[key] = shared
    shared.users += 1
    try:
        persistence, closers = await asyncio.shield(shared.ready)
        shared.persistence, shared.closers = persistence, closers
        yield persistence
    finally:
        shared.users -= 1
        if shared.users == 0:
            if _async_open.get(key) is shared:
                del _async_open[key]
            for close in shared.closers:
                await close()


@contextmanager
def open_persistence(db: str | None = None) -> Iterator[Persistence]:
    """Postgres when `db` or PLANGATE_DATABASE_URL is a postgresql:// URL, else SQLite at `db`."""
    target = resolve_target(db)
    if is_postgres(target):
        with open_postgres(target) as persistence:
            yield persistence
    else:
        with open_sqlite(target) as persistence:
            yield persistence


@asynccontextmanager
async def open_async_persistence(db: str | None = None) -> AsyncIterator[Persistence]:
    """The async twin of `open_persistence`."""
    target = resolve_target(db)
    if is_postgres(target):
        async with open_async_postgres(target) as persistence:
            yield persistence
    else:
        async with open_async_sqlite(target) as persistence:
            yield persistence


def list_threads(persistence: Persistence, limit: int = 50) -> list[tuple[str, str]]:
    """(thread id, first checkpoint id) of the newest threads, newest first, straight from the tables."""
    saver = persistence.checkpointer
    query = ("SELECT thread_id, MIN(checkpoint_id) AS first FROM checkpoints WHERE checkpoint_ns = '' "
             "GROUP BY thread_id ORDER BY first DESC LIMIT {}")
    if persistence.kind == "postgres":
        with saver.conn.connection() as conn:  # the pool from open_postgres (rows are dicts)
            rows = conn.execute(query.format("%s"), (limit,)).fetchall()
            return [(row["thread_id"], row["first"]) for row in rows]
    if hasattr(saver, "cursor") and isinstance(getattr(saver, "conn", None), sqlite3.Connection):
        with saver.cursor(transaction=False) as cur:
            cur.execute(query.format("?"), (limit,))
            return [(row[0], row[1]) for row in cur.fetchall()]
    firsts: dict[str, str] = {}
    for item in saver.list(None):
        if item.config["configurable"].get("checkpoint_ns", "") == "":
            thread, checkpoint = item.config["configurable"]["thread_id"], item.config["configurable"]["checkpoint_id"]
            firsts[thread] = min(firsts.get(thread, checkpoint), checkpoint)
    return sorted(firsts.items(), key=lambda kv: kv[1], reverse=True)[:limit]
