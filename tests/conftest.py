"""Shared test setup: no real model endpoint, no traffic beyond loopback, fast backoff sleeps."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from plangate.tools.http import reset_breakers

# `runner`: the engine on every checkpointer, sync and async (tests/fixtures/runner.py)
pytest_plugins = ("tests.fixtures.runner",)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _allowed(address: object) -> bool:
    if not isinstance(address, tuple):  # unix sockets (PostgreSQL's socket, Jupyter kernels)
        return True
    host = str(address[0])
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _allowed(address):
        raise ConnectionRefusedError(f"tests may only reach loopback; blocked a connection to {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _allowed(address):
        raise ConnectionRefusedError(f"tests may only reach loopback; blocked a connection to {address!r}")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _no_network_no_keys(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Any real model request fails loudly: keys unset, and non-loopback connections refused.

    Tools keep their files (notification log, search index) in a temp home, never the real one."""
    home = tmp_path_factory.mktemp("plangate-home")
    monkeypatch.setenv("PLANGATE_HOME", str(home))
    monkeypatch.setenv("PLANGATE_NOTIFY", "off")
    monkeypatch.setenv("PLANGATE_SEARCH_INDEX", str(home / "search-index.sqlite"))
    for name in ("OPENAI_API_KEY", "PLANGATE_API_KEY", "PLANGATE_BASE_URL", "PLANGATE_DATABASE_URL", "HASS_URL", "HASS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    reset_breakers()  # no test inherits another's unreachable hosts


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record backoff sleeps instead of waiting."""
    slept: list[float] = []

    async def fake_asleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("plangate.graph.io.sleep", slept.append)
    monkeypatch.setattr("plangate.graph.io.asleep", fake_asleep)
    return slept
