"""plangate on a multi-worker LangGraph Agent Server over PostgreSQL + Redis (`make serve-cluster`).

    python -m scripts.serve_cluster install    # idempotent: .venv-serve with the pinned runtime and plangate
    python -m scripts.serve_cluster start --workers 2 --port 8123   # install, create the database, migrate, start
    python -m scripts.serve_cluster stop       # stop the server started by `start`
    python -m scripts.serve_cluster status

The server is the stock `langgraph-api` (the one `langgraph dev` runs) on the open PostgreSQL + Redis runtime
`langgraph-runtime-pg`, started by its `langhost serve` CLI: threads, runs, checkpoints, the store and the run
queue live in PostgreSQL, streams and run heartbeats in Redis, so any worker serves any thread, and a worker that
dies is replaced on its runs once its heartbeat lapses (2 x LG_BG_JOB_HEARTBEAT). It pins langgraph-api==0.11.1 and
langgraph-checkpoint-postgres==3.1.0, which clash with the dev extra, so it gets a venv of its own (.venv-serve,
made from a stamp: reinstalled only when pyproject.toml or the pins change).

Settings (environment): DATABASE_URI (default postgresql://postgres@127.0.0.1:5432/plangate_cluster; the
database is created if missing), REDIS_URI (default redis://127.0.0.1:6379/0), LG_BG_JOB_HEARTBEAT (default 5 s),
N_JOBS_PER_WORKER (runs at once per worker, default 10). Everything listens on 127.0.0.1 unless HOST says otherwise.
Tests and the bench import this file and call `start_server` for servers of their own.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from scripts.cluster_provision import ClusterError, database_name, ensure_database, redact

ROOT = Path(__file__).resolve().parent.parent
SERVE_VENV = ROOT / ".venv-serve"
STAMP = SERVE_VENV / ".installed-serve"
STATE_DIR = ROOT / ".serve-cluster"
RUNTIME = ("langhost==0.11.1.post1", "langgraph-runtime-pg==0.11.1.post1")
DEFAULT_DATABASE_URI = "postgresql://postgres@127.0.0.1:5432/plangate_cluster"
DEFAULT_REDIS_URI = "redis://127.0.0.1:6379/0"
DEFAULT_PORT = 8123
DEFAULT_HEARTBEAT_S = 5.0
DEFAULT_JOBS_PER_WORKER = 10
START_TIMEOUT_S = 180
STOP_TIMEOUT_S = 10
MIGRATE_LOCK_KEY = 0x706C6763  # "plgc": one schema migration at a time, across processes
_READY = "Application startup complete"


def _log(message: str) -> None:
    print(f"serve-cluster: {message}", file=sys.stderr, flush=True)


# --- the server's venv ---------------------------------------------------------------------------------------

def _fingerprint() -> str:
    pyproject = (ROOT / "pyproject.toml").read_bytes()
    return hashlib.sha256(json.dumps([RUNTIME, sys.version_info[:2]]).encode() + pyproject).hexdigest()


def serve_python() -> Path:
    return SERVE_VENV / "bin" / "python"


def installed() -> bool:
    return STAMP.exists() and STAMP.read_text().strip() == _fingerprint() and (SERVE_VENV / "bin" / "langhost").exists()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def install(quiet: bool = True) -> Path:
    """Make .venv-serve (the runtime plus plangate, editable) unless its stamp is current; return its python."""
    with _file_lock(ROOT / ".venv-serve.lock"):  # two test runs installing at once would corrupt the venv
        if installed():
            return serve_python()
        _log(f"installing {' '.join(RUNTIME)} and plangate into {SERVE_VENV.name} (about a minute, once)")
        if not serve_python().exists():
            subprocess.run([sys.executable, "-m", "venv", str(SERVE_VENV)], check=True)
        command = [str(serve_python()), "-m", "pip", "install", "--disable-pip-version-check",
                   *(["--quiet"] if quiet else []), *RUNTIME, "-e", str(ROOT)]
        done = subprocess.run(command, capture_output=quiet, text=True)
        if done.returncode != 0:
            raise ClusterError(f"pip could not install the server into {SERVE_VENV}:\n{(done.stderr or '')[-3000:]}")
        STAMP.write_text(_fingerprint() + "\n")
        return serve_python()


# --- the schema ----------------------------------------------------------------------------------------------

def migrate(uri: str) -> None:
    """Bring the runtime's schema, the checkpointer's and the store's tables up to date, once, in .venv-serve.

    Every server process migrates on startup, and two that start together on a new database collide
    (`duplicate key value violates unique constraint "pg_type_typname_nsp_index"`); migrating first, under
    an advisory lock, makes their own migrations no-ops."""
    env = {**os.environ, "DATABASE_URI": uri}
    done = subprocess.run([str(serve_python()), "-m", "scripts.serve_cluster", "_migrate"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise ClusterError(f"migrating {redact(uri)} failed:\n{done.stderr[-3000:]}")


def _migrate_here() -> None:
    """Run inside .venv-serve: alembic upgrade + checkpointer and store setup, under an advisory lock."""
    import asyncio

    import psycopg
    from langgraph_runtime_pg import checkpoint, store
    from langgraph_runtime_pg.migrate import upgrade_head

    uri = os.environ["DATABASE_URI"]
    with psycopg.connect(uri, autocommit=True, connect_timeout=10) as lock:
        # Poll a try-lock: a waiting pg_advisory_lock would hold a snapshot that CREATE INDEX CONCURRENTLY waits on.
        deadline = time.monotonic() + 120
        while not lock.execute("SELECT pg_try_advisory_lock(%s)", (MIGRATE_LOCK_KEY,)).fetchone()[0]:
            if time.monotonic() > deadline:
                raise ClusterError("another process held the migration lock for 120 s")
            time.sleep(0.2)
        try:
            upgrade_head(uri)

            async def setup() -> None:
                await checkpoint.setup_checkpointer()
                await store.setup_store()
                await checkpoint.teardown_checkpointer()
                await store.teardown_store()

            asyncio.run(setup())
        finally:
            lock.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK_KEY,))


# --- the server --------------------------------------------------------------------------------------------

@dataclass
class ClusterServer:
    """One `langhost serve` (a uvicorn supervisor and its workers, or one process when workers == 1)."""

    url: str
    port: int
    workers: int
    process: subprocess.Popen
    log: Path
    database_uri: str
    redis_uri: str
    env: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def pids(self) -> list[int]:
        """Every live process of this server (its process group)."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if os.getpgid(int(entry.name)) == self.process.pid:
                        found.append(int(entry.name))
                except (ProcessLookupError, PermissionError):
                    continue
        return sorted(found)

    def kill(self) -> None:
        """SIGKILL every process of this server at once: a crash, no shutdown code runs."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_S)

    def stop(self) -> None:
        stop_group(self.process.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_TIMEOUT_S)


def stop_group(pid: int) -> None:
    """SIGTERM the process group `pid` leads, then SIGKILL it if it is still there."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.1)


def server_env(database_uri: str, redis_uri: str, *, heartbeat_s: float | None = None,
               extra: dict[str, str] | None = None, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a server process: the caller's, plus the runtime settings; nothing leaves 127.0.0.1."""
    env = dict(os.environ if base is None else base)
    env.update({
        "DATABASE_URI": database_uri, "REDIS_URI": redis_uri,
        "LG_BG_JOB_HEARTBEAT": str(heartbeat_s or env.get("LG_BG_JOB_HEARTBEAT") or DEFAULT_HEARTBEAT_S),
        "LANGGRAPH_NO_VERSION_CHECK": "true",  # else a thread asks pypi.org for newer releases at startup
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "PG_POOL_SIZE": env.get("PG_POOL_SIZE", "5"), "PG_MAX_OVERFLOW": env.get("PG_MAX_OVERFLOW", "10"),
        "LOG_COLOR": "false", "PYTHONUNBUFFERED": "1",
    })
    env.setdefault("LANGSMITH_TRACING", "false")
    env.update(extra or {})
    return env


def _get_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ok", timeout=2) as response:  # noqa: S310 - our own loopback server
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_server(*, port: int, workers: int = 2, database_uri: str = DEFAULT_DATABASE_URI,
                 redis_uri: str = DEFAULT_REDIS_URI, log: Path, heartbeat_s: float | None = None,
                 jobs_per_worker: int | None = None, host: str = "127.0.0.1", config: str = "langgraph.json",
                 cwd: Path = ROOT, env: dict[str, str] | None = None, base_env: dict[str, str] | None = None,
                 prepare: bool = True, timeout_s: float = START_TIMEOUT_S) -> ClusterServer:
    """Start `langhost serve` with `workers` processes on `port` and wait until every worker is up.

    `prepare` installs .venv-serve, creates the database and migrates it first (skip it for a second server on
    a database that is ready). The server runs in its own process group and logs to `log`."""
    if prepare:
        install()
        ensure_database(database_uri)
        migrate(database_uri)
    jobs = jobs_per_worker or int(os.environ.get("N_JOBS_PER_WORKER") or DEFAULT_JOBS_PER_WORKER)
    command = [str(SERVE_VENV / "bin" / "langhost"), "serve", "--host", host, "--port", str(port),
               "--workers", str(workers), "--n-jobs-per-worker", str(jobs), "--config", config, "--no-browser"]
    environment = server_env(database_uri, redis_uri, heartbeat_s=heartbeat_s, extra=env, base=base_env)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as sink:
        process = subprocess.Popen(command, cwd=cwd, env=environment, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = ClusterServer(f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}", port, workers,
                           process, log, database_uri, redis_uri, environment)
    deadline = time.monotonic() + timeout_s
    while True:
        text = server.log_text()
        if not server.alive():
            raise ClusterError(f"langhost exited with {process.returncode}:\n{text[-3000:]}")
        if "is already in use, using port" in text:  # langgraph-api moves to a free port instead of failing
            server.stop()
            raise ClusterError(f"port {port} is in use; pick another with PORT=")
        if text.count(_READY) >= workers and _get_ok(server.url):
            return server
        if time.monotonic() > deadline:
            server.stop()
            raise ClusterError(f"langhost not ready after {timeout_s:.0f}s:\n{text[-3000:]}")
        time.sleep(0.3)


# --- the CLI (`make serve-cluster`, `make serve-cluster-stop`) -----------------------------------------------

def _pid_file() -> Path:
    return STATE_DIR / "server.json"


def _running() -> dict | None:
    try:
        record = json.loads(_pid_file().read_text())
        os.killpg(record["pid"], 0)
        return record
    except (FileNotFoundError, ValueError, KeyError, ProcessLookupError, PermissionError):
        return None


def cmd_start(args: argparse.Namespace) -> int:
    if (record := _running()) is not None:
        _log(f"already running: {record['url']} ({record['workers']} workers, pid {record['pid']}); "
             "`make serve-cluster-stop` stops it")
        return 0
    database_uri = os.environ.get("DATABASE_URI") or DEFAULT_DATABASE_URI
    redis_uri = os.environ.get("REDIS_URI") or DEFAULT_REDIS_URI
    try:
        install(quiet=False)
        if ensure_database(database_uri):
            _log(f"created database {database_name(database_uri)}")
        migrate(database_uri)
        server = start_server(port=args.port, workers=args.workers, database_uri=database_uri, redis_uri=redis_uri,
                              log=STATE_DIR / "server.log", host=os.environ.get("HOST") or "127.0.0.1", prepare=False)
    except ClusterError as exc:
        _log(str(exc))
        return 1
    record = {"pid": server.pid, "url": server.url, "workers": args.workers, "database": redact(database_uri),
              "redis": redact(redis_uri), "log": str(server.log)}
    _pid_file().write_text(json.dumps(record, indent=2) + "\n")
    _log(f"{args.workers} workers on {server.url} (database {redact(database_uri)}, redis {redact(redis_uri)}, "
         f"heartbeat {server.env['LG_BG_JOB_HEARTBEAT']} s); log: {server.log.relative_to(ROOT)}")
    print(server.url)
    return 0


def cmd_stop(_: argparse.Namespace) -> int:
    record = _running()
    if record is None:
        _log("not running")
        _pid_file().unlink(missing_ok=True)
        return 0
    stop_group(record["pid"])
    _pid_file().unlink(missing_ok=True)
    _log(f"stopped {record['url']} (pid {record['pid']})")
    return 0


def cmd_status(_: argparse.Namespace) -> int:
    record = _running()
    if record is None:
        print("not running")
        return 1
    print(json.dumps({**record, "ok": _get_ok(record["url"])}, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.serve_cluster", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="make .venv-serve (idempotent)")
    start = sub.add_parser("start", help="install, create and migrate the database, start the workers")
    start.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    start.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    sub.add_parser("stop", help="stop the server started by `start`")
    sub.add_parser("status", help="print the running server's URL and settings")
    sub.add_parser("_migrate", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.command == "install":
        try:
            print(install(quiet=False))
        except ClusterError as exc:
            _log(str(exc))
            return 1
        return 0
    if args.command == "_migrate":
        _migrate_here()
        return 0
    if args.command == "start" and args.workers < 1:
        parser.error("--workers must be at least 1")
    return {"start": cmd_start, "stop": cmd_stop, "status": cmd_status}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
