"""The local PostgreSQL the bench uses: 127.0.0.1:5432, a database of its own next to `test`.

langgraph-checkpoint-postgres serializes `setup()` with a database-wide advisory lock and then runs
CREATE INDEX CONCURRENTLY, which waits for every older transaction in the database. Concurrent
setups from other processes in the same database can deadlock that way (seen on this shared
machine), so the bench creates and uses its own database (`plangate_bench`, derived from the
configured URL's server) and sets a lock timeout, so a blocked run fails instead of hanging.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

BENCH_DB = "plangate_bench"
LOCK_TIMEOUT_MS = 60_000


def _ready() -> bool:
    if shutil.which("pg_isready") is None:
        return False
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432"], capture_output=True).returncode == 0


def _start() -> None:
    """Start the machine's cluster if it is down (as .ci/run does)."""
    clusters = sorted(p.name for p in Path("/etc/postgresql").glob("*")) if Path("/etc/postgresql").exists() else []
    if clusters and shutil.which("pg_ctlcluster"):
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", clusters[0], "main", "start"], capture_output=True)
        for _ in range(30):
            if _ready():
                return
            time.sleep(0.5)


def bench_url(url: str) -> str | None:
    """A URL for the bench's own database on `url`'s server (created if missing), or None if unreachable."""
    if not _ready():
        _start()
    parts = urlsplit(url)
    own = urlunsplit((parts.scheme, parts.netloc, f"/{BENCH_DB}", "", ""))
    try:
        import psycopg

        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DB,)).fetchone() is None:
                conn.execute(f"CREATE DATABASE {BENCH_DB}")
        with psycopg.connect(own, autocommit=True, connect_timeout=5):
            pass
    except Exception:
        return None
    return f"{own}?options={quote(f'-c lock_timeout={LOCK_TIMEOUT_MS}')}"
