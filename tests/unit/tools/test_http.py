"""plangate.tools.http's circuit breaker: a host that cannot be reached twice in a row fails fast for a while."""

from __future__ import annotations

import httpx
import pytest

from plangate.tools import http
from plangate.tools.errors import RetryableToolError, ToolError

URL = "http://meteo.test/v1/forecast"


class Host:
    """A MockTransport handler that plays a script of outcomes: an exception to raise or a status to answer."""

    def __init__(self, *outcomes: Exception | int) -> None:
        self.outcomes, self.calls = list(outcomes), 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        outcome = self.outcomes.pop(0) if self.outcomes else 200
        if isinstance(outcome, Exception):
            raise outcome
        return httpx.Response(outcome, json={})


def call(host: Host) -> httpx.Response:
    with http.use_transport(httpx.MockTransport(host)):
        return http.request("GET", URL, service="the weather service", hint="check the network connection")


def test_two_connection_failures_in_a_row_open_the_breaker(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(http.time, "monotonic", lambda: clock[0])
    host = Host(httpx.ConnectError("Name or service not known"), httpx.ConnectTimeout("timed out"))
    for _ in range(2):
        with pytest.raises(RetryableToolError):
            call(host)
    with pytest.raises(ToolError) as err:
        call(host)
    assert host.calls == 2  # the third request never went out
    assert not err.value.retryable  # so the step runner and the replanner do not loop on it
    message = str(err.value)
    assert "meteo.test" in message and "the connection timed out" in message and "not tried again for 15 s" in message
    assert "Check the network connection" in message
    clock[0] += http.BREAKER_OPEN_S + 0.1  # the breaker half-opens: one request goes out again
    assert call(host).status_code == 200 and host.calls == 3
    assert call(host).status_code == 200  # and an answer closed it


def test_any_answer_resets_the_count_and_read_timeouts_do_not_count():
    host = Host(httpx.ConnectError("refused"), 503, httpx.ConnectError("refused"), httpx.ReadTimeout("slow"),
                httpx.ReadTimeout("slow"))
    with pytest.raises(RetryableToolError):
        call(host)
    with pytest.raises(RetryableToolError, match="HTTP 503"):
        call(host)  # the host answered: it is reachable
    for _ in range(3):
        with pytest.raises(RetryableToolError):
            call(host)  # one connection failure, then a slow server: reachable, just slow
    assert call(host).status_code == 200 and host.calls == 6


def test_breakers_are_per_host():
    down = Host(*[httpx.ConnectError("refused")] * 2)
    for _ in range(2):
        with pytest.raises(RetryableToolError):
            call(down)
    with http.use_transport(httpx.MockTransport(Host())):
        assert http.request("GET", "http://other.test/x", service="another service").status_code == 200
