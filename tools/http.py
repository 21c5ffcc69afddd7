"""HTTP for tools: short timeouts, an injectable transport for tests, and errors mapped to ToolError.

Every tool that talks HTTP (weather, notification webhooks, Home Assistant) builds its client with
`client()`, so a test can swap the network for `httpx.MockTransport` with `use_transport()`, and an
offline machine fails within the connect timeout with a RetryableToolError that says what to check.

A host that could not be reached `BREAKER_FAILURES` times in a row is not tried again for `BREAKER_OPEN_S`
seconds (a circuit breaker): requests to it fail at once with a ToolError that is not retryable, so an offline
machine or a dead service costs one retry, not a retry loop per step and again per replan. Any HTTP answer from
the host, even an error status, closes its breaker.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx

from plangate.tools.errors import RetryableToolError, ToolError

CONNECT_TIMEOUT_S = 2.5
READ_TIMEOUT_S = 8.0
BREAKER_FAILURES = 2
BREAKER_OPEN_S = 15.0
_transport: httpx.BaseTransport | None = None
_breakers: dict[str, tuple[int, float, str]] = {}  # host -> (connection failures in a row, last failure, reason)
_breakers_lock = threading.Lock()


def reset_breakers() -> None:
    """Forget every host's connection failures (tests; or after fixing the network in a long-lived process)."""
    with _breakers_lock:
        _breakers.clear()


def _open_breaker(host: str) -> tuple[str, float] | None:
    """(last reason, seconds left) when `host` is not to be tried now."""
    with _breakers_lock:
        failures, last, reason = _breakers.get(host, (0, 0.0, ""))
    left = BREAKER_OPEN_S - (time.monotonic() - last)
    return (reason, left) if failures >= BREAKER_FAILURES and left > 0 else None


def _record(host: str, reason: str | None) -> None:
    """A connection failure (`reason`) or an answer (None) from `host`."""
    with _breakers_lock:
        if reason is None:
            _breakers.pop(host, None)
        else:
            failures = _breakers.get(host, (0, 0.0, ""))[0]
            _breakers[host] = (failures + 1, time.monotonic(), reason)


@contextmanager
def use_transport(transport: httpx.BaseTransport | None) -> Iterator[None]:
    """Route every tool HTTP request through `transport` (e.g. httpx.MockTransport) inside the block."""
    global _transport
    previous, _transport = _transport, transport
    try:
        yield
    finally:
        _transport = previous


def client(*, headers: dict[str, str] | None = None, timeout: httpx.Timeout | None = None) -> httpx.Client:
    """A client with plangate's short timeouts (connect 2.5 s, read 8 s) and the injected transport, if any."""
    return httpx.Client(
        headers={"User-Agent": "plangate", **(headers or {})},
        timeout=timeout or httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S),
        transport=_transport,
        follow_redirects=False,
    )


def host_of(url: str) -> str:
    """Scheme and host of `url` only: paths and queries may hold tokens and never reach messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def request(method: str, url: str, *, service: str, hint: str = "", headers: dict[str, str] | None = None,
            **kwargs: Any) -> httpx.Response:
    """Send one request; raise RetryableToolError for network trouble, 408/429/5xx, ToolError for other 4xx.

    Messages name the service and host only (never the path or query, which may hold tokens); `hint`
    says what to check ("check the network connection or PLANGATE_WEATHER_URL").
    """
    where = _host(url)
    advice = f". {hint[0].upper()}{hint[1:]}" if hint else ""
    if (open_breaker := _open_breaker(where)) is not None:
        reason, left = open_breaker
        raise ToolError(f"couldn't reach {service} ({where}): {reason}; after {BREAKER_FAILURES} failed connections in "
                        f"a row it is not tried again for {left:.0f} s{advice}")
    try:
        with client(headers=headers) as http:
            response = http.request(method, url, **kwargs)
    except httpx.ConnectTimeout as exc:
        _record(where, "the connection timed out")
        raise RetryableToolError(f"{service} ({where}) did not answer in time ({type(exc).__name__}){advice}") from None
    except httpx.TimeoutException as exc:
        raise RetryableToolError(f"{service} ({where}) did not answer in time ({type(exc).__name__}){advice}") from None
    except httpx.TransportError as exc:
        reason = re.sub(r"^\[Errno [^\]]*\]\s*", "", str(exc).strip()) or type(exc).__name__
        if isinstance(exc, httpx.ConnectError):
            _record(where, reason)
        raise RetryableToolError(f"couldn't reach {service} ({where}): {reason}{advice}") from None
    _record(where, None)
    status = response.status_code
    if status in (408, 425, 429) or status >= 500:
        raise RetryableToolError(f"{service} ({where}) answered HTTP {status} {response.reason_phrase}; try again later")
    if status >= 400:
        body = response.text.strip().replace("\n", " ")[:200]
        raise ToolError(f"{service} ({where}) rejected the request: HTTP {status} {response.reason_phrase}"
                        + (f": {body}" if body else ""))
    return response


def json_body(response: httpx.Response, *, service: str) -> Any:
    """The JSON body, or a ToolError naming the service when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        raise ToolError(f"{service} answered with something that is not JSON: {response.text[:120]!r}") from None
