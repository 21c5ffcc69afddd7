"""What the multi-worker server tests need: the launcher, a throwaway database, a Redis database of their own,
a slow weather service on 127.0.0.1, and the servers' JSON logs read back.

The servers are started by scripts/serve_cluster.py (the code behind `make serve-cluster`), which makes or reuses
.venv-serve itself, so a fresh clone needs nothing but pip access.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest

from scripts import cluster_provision, serve_cluster
from tests.integration.pg import BASE_URL, require_postgres

DB_PREFIX = "plangate_cluster_test"
REDIS_URL = "redis://127.0.0.1:6379"
HOLD_MAX_S = 6.0  # under the weather tool's 8 s read timeout, so a held request never turns into a retry


def _database_uri(name: str) -> str:
    parts = urlsplit(BASE_URL)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server; dropped afterwards (and stale ones over an hour old)."""
    import psycopg

    require_postgres()
    serve = serve_cluster
    with psycopg.connect(BASE_URL, autocommit=True) as conn:
        names = [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{DB_PREFIX}_%",))]
    for name in names:
        stamp = name[len(DB_PREFIX) + 1:].split("_")[0]
        if stamp.isdigit() and time.time() - int(stamp) > 3600:
            cluster_provision.drop_database(_database_uri(name))
    uri = _database_uri(f"{DB_PREFIX}_{int(time.time())}_{uuid.uuid4().hex[:8]}")
    assert serve.ensure_database(uri), "a fresh database name already existed"
    try:
        yield uri
    finally:
        cluster_provision.drop_database(uri)


@contextmanager
def free_redis_database() -> Iterator[str]:
    """An empty Redis database number of the test's own (claimed, emptied afterwards)."""
    serve = serve_cluster
    try:
        with cluster_provision.free_redis_database(REDIS_URL) as url:
            yield url
    except serve.ClusterError as exc:
        pytest.fail(str(exc), pytrace=False)


PLACES = {"Paris": (48.85, 2.35), "Oslo": (59.91, 10.75), "Rome": (41.89, 12.48), "Madrid": (40.42, -3.70)}


@dataclass
class Hit:
    path: str
    place: str
    arrived: float
    done: float | None = None


@dataclass
class WeatherStub:
    """Open-Meteo's geocoding and forecast on 127.0.0.1, recording every request; forecasts can be held back."""

    delay_s: float = 0.0
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    gate: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def __post_init__(self) -> None:
        self.gate.set()

    def hold(self) -> None:
        """Forecasts asked from now on wait (at most HOLD_MAX_S) until `release`."""
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()

    def count(self, path: str, place: str | None = None) -> int:
        with self.lock:
            return sum(1 for h in self.hits if h.path.endswith(path) and place in (None, h.place))

    def in_flight(self, path: str = "/forecast") -> int:
        with self.lock:
            return sum(1 for h in self.hits if h.path.endswith(path) and h.done is None)

    def of(self, place: str, path: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.place == place and h.path.endswith(path)]

    def _answer(self, path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        if path.endswith("/search"):
            name = query.get("name", ["?"])[0]
            lat, lon = PLACES.get(name, (10.0, 10.0))
            return {"results": [{"name": name, "country": "Testland", "latitude": lat, "longitude": lon}]}
        return {"current": {"temperature_2m": 18.0, "apparent_temperature": 17.0, "relative_humidity_2m": 60,
                            "weather_code": 1, "wind_speed_10m": 9, "precipitation": 0}}

    def _place(self, path: str, query: dict[str, list[str]]) -> str:
        if path.endswith("/search"):
            return query.get("name", ["?"])[0]
        lat = float(query.get("latitude", ["0"])[0])
        return next((name for name, (la, _) in PLACES.items() if abs(la - lat) < 0.01), "?")

    @contextmanager
    def serve(self) -> Iterator[WeatherStub]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                hit = Hit(parts.path, stub._place(parts.path, query), time.time())
                with stub.lock:
                    stub.hits.append(hit)
                if parts.path.endswith("/forecast"):
                    stub.gate.wait(HOLD_MAX_S)
                    time.sleep(stub.delay_s)
                body = json.dumps(stub._answer(parts.path, query)).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the asking worker was killed
                    return
                finally:
                    hit.done = time.time()

            def log_message(self, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.release()
            server.shutdown()
            server.server_close()


def log_events(log_text: str, event: str) -> list[dict[str, Any]]:
    """The JSON log records (LOG_JSON=true) of one event, e.g. "Starting background run"."""
    found = []
    for line in log_text.splitlines():
        if line.startswith("{") and f'"{event}' in line:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if str(record.get("event", "")).startswith(event):
                found.append(record)
    return found


def timestamp(record: dict[str, Any]) -> float:
    return datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00")).timestamp()
