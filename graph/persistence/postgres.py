"""Postgres persistence: PostgresSaver/PostgresStore (sync and async) sharing a connection pool.

Tables are set up on first use under an advisory lock, taken by polling so that processes starting
together never deadlock. Setup is crash-safe: every migration is idempotent (IF NOT EXISTS), and an index that a
killed `CREATE INDEX CONCURRENTLY` left INVALID is dropped and built again. Used through `plangate.graph.persistence.savers.open_persistence` when a postgresql:// URL is given.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from plangate.graph.persistence.handle import Persistence, stop_batch_task
from plangate.graph.persistence.target import redact

POOL_SIZE = 10
SETUP_LOCK_TIMEOUT_S = 120
CONNECT_TIMEOUT_S = 10
_SETUP_LOCK_KEY = 0x706C616E67617465  # "plangate": serialises schema setup across processes


def _pg_kwargs() -> dict[str, Any]:
    from psycopg.rows import dict_row

    return {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}


# Indexes a killed `CREATE INDEX CONCURRENTLY` leaves INVALID; "IF NOT EXISTS" would then skip them for good.
_INVALID_INDEXES = """
SELECT c.relname AS name FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid AND n.nspname = current_schema()
  AND t.relname IN ('store', 'checkpoints', 'checkpoint_blobs', 'checkpoint_writes')
"""


def _drop_invalid_indexes(conn: Any) -> list[str]:
    """Drop the plangate tables' INVALID indexes (a setup killed mid-build) so setup builds them again."""
    names = [row["name"] for row in conn.execute(_INVALID_INDEXES).fetchall()]
    for name in names:
        conn.execute(f'DROP INDEX IF EXISTS "{name}"')
    return names


async def _adrop_invalid_indexes(conn: Any) -> list[str]:
    names = [row["name"] for row in await (await conn.execute(_INVALID_INDEXES)).fetchall()]
    for name in names:
        await conn.execute(f'DROP INDEX IF EXISTS "{name}"')
    return names


def _take_setup_lock(conn: Any) -> None:
    """Poll pg_try_advisory_lock: a blocked pg_advisory_lock would hold a snapshot that the setup's
    CREATE INDEX CONCURRENTLY (in the lock holder) waits for, a deadlock Postgres cannot see."""
    deadline = time.monotonic() + SETUP_LOCK_TIMEOUT_S
    while not conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (_SETUP_LOCK_KEY,)).fetchone()["ok"]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"another process held the plangate setup lock for {SETUP_LOCK_TIMEOUT_S}s")
        time.sleep(0.2)


async def _atake_setup_lock(conn: Any) -> None:
    deadline = time.monotonic() + SETUP_LOCK_TIMEOUT_S
    while not (await (await conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (_SETUP_LOCK_KEY,))).fetchone())["ok"]:
        if time.monotonic() > deadline:
            raise TimeoutError(f"another process held the plangate setup lock for {SETUP_LOCK_TIMEOUT_S}s")
        await asyncio.sleep(0.2)


@contextmanager
def open_postgres(url: str, *, pool_size: int = POOL_SIZE) -> Iterator[Persistence]:
    """A PostgresSaver and PostgresStore sharing a connection pool on `url`; tables set up on first use."""
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from langgraph.store.postgres import PostgresStore
    from psycopg_pool import ConnectionPool

    psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S).close()  # fail fast and clearly when unreachable
    from psycopg.rows import DictRow

    with ConnectionPool(
        url, connection_class=psycopg.Connection[DictRow], min_size=1, max_size=max(pool_size, 2),
        kwargs=_pg_kwargs(), open=True, timeout=30,
    ) as pool:
        saver, store = PostgresSaver(pool), PostgresStore(pool)
        with pool.connection() as lock_conn:
            _take_setup_lock(lock_conn)
            try:
                _drop_invalid_indexes(lock_conn)
                saver.setup()
                store.setup()
            finally:
                lock_conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))
        yield Persistence(saver, store, redact(url), kind="postgres")


@asynccontextmanager
async def open_async_postgres(url: str, *, pool_size: int = POOL_SIZE) -> AsyncIterator[Persistence]:
    """An AsyncPostgresSaver and AsyncPostgresStore sharing an async connection pool on `url`."""
    import psycopg
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.store.postgres.aio import AsyncPostgresStore
    from psycopg_pool import AsyncConnectionPool

    await (await psycopg.AsyncConnection.connect(url, connect_timeout=CONNECT_TIMEOUT_S)).close()
    from psycopg.rows import DictRow

    async with AsyncConnectionPool(
        url, connection_class=psycopg.AsyncConnection[DictRow], min_size=1, max_size=max(pool_size, 2),
        kwargs=_pg_kwargs(), open=False, timeout=30,
    ) as pool:
        saver, store = AsyncPostgresSaver(pool), AsyncPostgresStore(pool)
        async with pool.connection() as lock_conn:
            await _atake_setup_lock(lock_conn)
            try:
                await _adrop_invalid_indexes(lock_conn)
                await saver.setup()
                await store.setup()
            finally:
                await lock_conn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))
        try:
            yield Persistence(saver, store, redact(url), kind="postgres")
        finally:
            await stop_batch_task(store)
