"""Tool tests: a fresh Store and a fixed clock per test, sinks and caches in tmp, and a loopback HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from langgraph.store.memory import InMemoryStore

from plangate.tools import runtime

TZ = timezone(timedelta(hours=1))
NOW = datetime(2026, 11, 22, 14, 0, tzinfo=TZ)  # a Sunday


class Clock:
    def __init__(self, start: datetime) -> None:
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **delta: float) -> None:
        self.value += timedelta(**delta)


@pytest.fixture(autouse=True)
def tool_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Isolated state for every tool test: its own fallback Store, notification log and search index."""
    monkeypatch.setattr(runtime, "_fallback_store", InMemoryStore())
    monkeypatch.setenv("PLANGATE_NOTIFY", str(tmp_path / "notifications.log"))
    monkeypatch.setenv("PLANGATE_SEARCH_INDEX", str(tmp_path / "search-index.sqlite"))
    for name in ("PLANGATE_USER_ID", "PLANGATE_SEARCH_PATH", "PLANGATE_WEATHER_URL", "PLANGATE_GEOCODING_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A fixed, movable clock for every tool (tools read time through plangate.tools.runtime.now)."""
    fixed = Clock(NOW)
    monkeypatch.setattr(runtime, "now", fixed)
    return fixed


class FakeServer:
    """A loopback HTTP server whose answers come from `handler(method, path, headers, body) -> (status, json)`."""

    def __init__(self, handler: Callable[[str, str, dict[str, str], Any], tuple[int, Any]]) -> None:
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append({"method": self.command, "path": self.path, "headers": headers, "body": body})
                status, payload = handler(self.command, self.path, headers, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def http_server() -> Iterator[Callable[..., FakeServer]]:
    """Start fake servers on 127.0.0.1 (free ports); all are stopped when the test ends."""
    started: list[FakeServer] = []

    def start(handler: Callable[[str, str, dict[str, str], Any], tuple[int, Any]]) -> FakeServer:
        server = FakeServer(handler)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nothing listens on: connections are refused at once, like a dead server."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
