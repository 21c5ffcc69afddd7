"""The real PostgreSQL the integration tests use (127.0.0.1:5432, database `test`, user postgres, trust auth).

Each test run gets a schema of its own (via the URL's search_path), dropped afterwards, so reruns are
independent. When the server is down the tests fail with how to start it; they never skip silently.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest

BASE_URL = os.environ.get("PLANGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
START_HINT = "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start (.ci/run does this)"


def require_postgres() -> None:
    """Fail (not skip) with a clear reason when PostgreSQL is not reachable."""
    import psycopg

    try:
        with psycopg.connect(BASE_URL, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {BASE_URL}: {str(exc).strip()}; {START_HINT}", pytrace=False)


def schema_url(schema: str) -> str:
    sep = "&" if "?" in BASE_URL else "?"
    return f"{BASE_URL}{sep}options={quote(f'-csearch_path={schema}')}"


def _drop_stale(conn, prefix: str) -> None:
    """Schemas left by runs that were killed before their cleanup (over an hour old)."""
    names = [row[0] for row in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (f"{prefix}_%",))]
    for name in names:
        stamp = name[len(prefix) + 1:].split("_")[0]
        if stamp.isdigit() and time.time() - int(stamp) > 3600:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@contextmanager
def fresh_schema(prefix: str = "plangate_test") -> Iterator[str]:
    """A URL whose tables live in a new, empty schema; the schema is dropped on exit."""
    import psycopg

    require_postgres()
    schema = f"{prefix}_{int(time.time())}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(BASE_URL, autocommit=True) as conn:
        _drop_stale(conn, prefix)
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema_url(schema)
    finally:
        with psycopg.connect(BASE_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
