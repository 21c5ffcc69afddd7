"""A kill at any point of the first setup of a fresh database leaves one the next run opens (issue 13, row 7).

`setup_driver` opens a fresh SQLite file or Postgres schema exactly as the CLI does and stops before the Nth SQL
statement of its setup; the test SIGKILLs it there, then opens the database and runs a plan on it. Before the
fix, a kill between SQLite's `ALTER TABLE store ADD COLUMN expires_at` and the row recording it left a file
whose every later run failed with "duplicate column name: expires_at". `make test` kills at every statement of
a SQLite setup and at the interesting ones of a Postgres setup; `make soak` at every Postgres statement too.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plangate import build_graph
from plangate.graph.persistence.durable import invoke_durably
from plangate.graph.persistence.savers import open_persistence
from tests.helpers import config, user
from tests.reliability.crashkit import ROOT, _env

PLAN_REQUEST = "set a tea timer for 3 minutes and then list my timers"
SOAK = int(os.environ.get("PLANGATE_SOAK_KILLS", "10")) >= 50
SQLITE_STATEMENTS = 16  # the first pass of a fresh file's setup (checkpointer, then store migrations)
PG_STATEMENTS = 35
PG_POINTS = range(1, PG_STATEMENTS + 1) if SOAK else (3, 13, 17, 23, 29, 31)


def driver(target: str, marker: Path, pause_at: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.reliability.setup_driver", target, "--pause-at", str(pause_at),
                             "--marker", str(marker), *extra], cwd=ROOT, env=_env(marker.parent),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_at(target: str, marker: Path, pause_at: int, *extra: str) -> str:
    """SIGKILL a setup of `target` just before its statement `pause_at`; return that statement."""
    proc = driver(target, marker, pause_at, *extra)
    deadline = time.monotonic() + 60
    while not marker.exists():
        if proc.poll() is not None:
            raise AssertionError(f"setup ended before statement {pause_at}: {proc.stderr.read()[-2000:]}")
        assert time.monotonic() < deadline, "the driver never reached its pause point"
        time.sleep(0.01)
    statement = marker.read_text(encoding="utf-8")
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    marker.unlink(missing_ok=True)
    return statement


def opens_and_runs(target: str) -> None:
    """The database opens, and a plan runs on it to the end."""
    with open_persistence(target) as persistence:
        app = build_graph(checkpointer=persistence.checkpointer, store=persistence.store)
        out = invoke_durably(app, user(PLAN_REQUEST), config())
    assert [out["step_results"][k]["status"] for k in (1, 2)] == ["completed", "completed"], out.get("error")


@pytest.mark.parametrize("pause_at", range(1, SQLITE_STATEMENTS + 1))
def test_sqlite_setup_killed_at_every_statement(tmp_path, pause_at):
    db = str(tmp_path / "threads.sqlite")
    statement = kill_at(db, tmp_path / "paused", pause_at)
    opens_and_runs(db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok", statement
        columns = {row[1] for row in conn.execute("PRAGMA table_info(store)")}
        assert {"expires_at", "ttl_minutes"} <= columns


@pytest.mark.parametrize("pause_at", [11, 12, 13, 14])
def test_async_sqlite_setup_killed_around_the_column_migrations(tmp_path, pause_at):
    db = str(tmp_path / "threads.sqlite")
    kill_at(db, tmp_path / "paused", pause_at, "--aio")
    opens_and_runs(db)


def test_the_half_applied_expires_at_migration_is_repaired(tmp_path):
    db = str(tmp_path / "threads.sqlite")
    counted = subprocess.run([sys.executable, "-m", "tests.reliability.setup_driver", str(tmp_path / "count.sqlite"),
                              "--count"], cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, check=True)
    record_v2 = counted.stdout.splitlines().index("INSERT INTO store_migrations (v) VALUES (2)") + 1
    kill_at(db, tmp_path / "paused", record_v2)  # after the ALTER, before the row recording it
    with sqlite3.connect(db) as conn:
        assert [row[0] for row in conn.execute("SELECT v FROM store_migrations ORDER BY v")] == [0, 1]
        assert "expires_at" in {row[1] for row in conn.execute("PRAGMA table_info(store)")}  # the half it did
    opens_and_runs(db)
    with sqlite3.connect(db) as conn:
        assert [row[0] for row in conn.execute("SELECT v FROM store_migrations ORDER BY v")] == [0, 1, 2, 3, 4]


# --- Postgres ------------------------------------------------------------------------------------------------

PG_INDEXES = """SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"""


def pg_indexes(url: str) -> dict[str, bool]:
    import psycopg

    with psycopg.connect(url) as conn:
        return dict(conn.execute(PG_INDEXES).fetchall())


def pg_statements(url: str, tmp_path: Path) -> list[str]:
    counted = subprocess.run([sys.executable, "-m", "tests.reliability.setup_driver", url, "--count"], cwd=ROOT,
                             env=_env(tmp_path), capture_output=True, text=True, check=True)
    return counted.stdout.splitlines()


@pytest.mark.parametrize("pause_at", PG_POINTS)
def test_postgres_setup_killed_at_a_statement(tmp_path, pause_at):
    from tests.integration.pg import fresh_schema

    with fresh_schema() as url:
        kill_at(url, tmp_path / "paused", pause_at)
        opens_and_runs(url)
        indexes = pg_indexes(url)
        assert {"checkpoints_thread_id_idx", "store_prefix_idx", "idx_store_expires_at"} <= set(indexes)
        assert all(indexes.values()), indexes


def test_postgres_setup_killed_inside_create_index_concurrently(tmp_path):
    """A setup whose session dies while `CREATE INDEX CONCURRENTLY` waits leaves an INVALID index, which
    `IF NOT EXISTS` would skip for good; the next setup drops it and builds it again."""
    import psycopg

    from tests.integration.pg import fresh_schema

    with fresh_schema() as url:
        with fresh_schema() as scratch:
            statements = pg_statements(scratch, tmp_path)
        at = next(i for i, s in enumerate(statements, 1) if "checkpoints_thread_id_idx" in s)
        marker = tmp_path / "paused"
        proc = driver(url, marker, at)
        try:
            deadline = time.monotonic() + 20
            while not marker.exists():
                assert proc.poll() is None and time.monotonic() < deadline, "the driver never reached the index"
                time.sleep(0.01)
            with psycopg.connect(url) as reader, psycopg.connect(url, autocommit=True) as admin:
                reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
                reader.execute("SELECT count(*) FROM checkpoints").fetchone()  # an old snapshot the build waits for
                marker.unlink()
                while True:
                    row = admin.execute("SELECT pid FROM pg_stat_activity WHERE wait_event = 'virtualxid' "
                                        "AND pid <> pg_backend_pid() AND datname = current_database()").fetchone()
                    if row:
                        break
                    assert time.monotonic() < deadline, "the index build never waited"
                    time.sleep(0.05)
                os.kill(proc.pid, signal.SIGKILL)
                admin.execute("SELECT pg_terminate_backend(%s)", (row[0],))
                reader.rollback()
        finally:
            proc.kill()
            proc.communicate(timeout=30)
        assert pg_indexes(url).get("checkpoints_thread_id_idx") is False  # left INVALID
        opens_and_runs(url)
        assert pg_indexes(url)["checkpoints_thread_id_idx"] is True
