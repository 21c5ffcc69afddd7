"""Where a cluster keeps its state: a PostgreSQL database (made if missing, dropped for throwaway runs) and a
Redis database number of its own. Used by `scripts.serve_cluster` and by the tests and bench that start servers."""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

REDIS_CLAIM_KEY = "plangate:claimed-by"
STALE_CLAIM_S = 6 * 3600
_DB_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class ClusterError(RuntimeError):
    """The server could not be installed, prepared or started; the message says why and what to do."""


def redact(uri: str) -> str:
    """`uri` without its password, for messages and logs."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def database_name(uri: str) -> str:
    name = urlsplit(uri).path.lstrip("/")
    if not _DB_NAME.match(name):
        raise ClusterError(f"DATABASE_URI must name a database (letters, digits, _), got {redact(uri)!r}")
    return name


def _maintenance_uri(uri: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))


def ensure_database(uri: str) -> bool:
    """Create the database `uri` names if it is missing; True if it was created."""
    import psycopg
    from psycopg import sql

    name = database_name(uri)
    try:
        with psycopg.connect(_maintenance_uri(uri), autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return False
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except psycopg.errors.DuplicateDatabase:  # another process created it first
                return False
            return True
    except psycopg.OperationalError as exc:
        raise ClusterError(f"PostgreSQL is not reachable at {redact(uri)}: {str(exc).strip()}; "
                           "start it or set DATABASE_URI") from None


def drop_database(uri: str) -> None:
    """Drop the database `uri` names, closing its connections (for throwaway test databases)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(_maintenance_uri(uri), autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database_name(uri))))


@contextlib.contextmanager
def free_redis_database(base: str = "redis://127.0.0.1:6379") -> Iterator[str]:
    """The URL of an empty Redis database number, claimed with SET NX (so a parallel caller picks another) and
    emptied afterwards: for throwaway servers (tests, bench). A database whose claim is older than
    STALE_CLAIM_S (its owner was killed) is emptied and reused. Needs redis-py (the dev extra)."""
    import redis

    claim = f"{int(time.time())}:{uuid.uuid4().hex}"
    try:
        count = int(redis.Redis.from_url(f"{base}/0", socket_connect_timeout=5).config_get("databases")["databases"])
    except redis.RedisError as exc:
        raise ClusterError(f"Redis is not reachable at {base}: {exc}; start redis-server or set REDIS_URI") from None
    for number in range(count - 1, 0, -1):  # from the top: apps tend to use the low numbers
        db = redis.Redis.from_url(f"{base}/{number}")
        stamp = (db.get(REDIS_CLAIM_KEY) or b"").decode().split(":")[0]
        if stamp.isdigit() and time.time() - int(stamp) > STALE_CLAIM_S and db.delete(REDIS_CLAIM_KEY):
            db.flushdb()
        if db.dbsize() == 0 and db.set(REDIS_CLAIM_KEY, claim, nx=True):
            break
    else:
        raise ClusterError(f"no empty Redis database on {base}")
    try:
        yield f"{base}/{number}"
    finally:
        if db.get(REDIS_CLAIM_KEY) == claim.encode():
            db.flushdb()
