"""Keep secrets out of error text: servers and proxies may echo an API key back in their error messages.

Every error a model, tool or store call raises passes through `redact_exception` (in the io port, plangate.graph.io) before
a node sees it, so an echoed key never reaches state, checkpoints, events, answers or logs: not through the error
itself, nor through the errors chained to it (`raise ... from err`, or raised while handling one).
"""

from __future__ import annotations

import os
import re
from typing import Any

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD)", re.IGNORECASE)
MASK = "[redacted]"


def secret_values() -> list[str]:
    """Values of environment variables that look like credentials (long enough to be one), longest first."""
    found = {v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= 8}
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: list[str] | None = None) -> str:
    for secret in secret_values() if secrets is None else secrets:
        text = text.replace(secret, MASK)
    return text


def _scrub(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_scrub(v, secrets) for v in value)
    return value


def exception_chain(exc: BaseException) -> list[BaseException]:
    """`exc` and every exception a traceback of it would print or a handler could reach: its `__cause__`,
    `__context__`, group members and exceptions held in `args` (each once, cycles allowed)."""
    seen: dict[int, BaseException] = {}
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen[id(current)] = current
        stack.extend([current.__cause__, current.__context__, *getattr(current, "exceptions", ())])
        stack.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return list(seen.values())


def _redact_one(exc: BaseException, secrets: list[str]) -> None:
    if any(s in repr(exc.args) for s in secrets):
        exc.args = _scrub(exc.args, secrets)
    for name in ("message", "body", "__notes__"):
        if isinstance(getattr(exc, name, None), str | dict | list):
            try:
                setattr(exc, name, _scrub(getattr(exc, name), secrets))
            except AttributeError:  # a read-only attribute
                pass


def redact_exception(exc: BaseException) -> BaseException:
    """`exc` with every secret removed from its args and message attributes, and from those of every exception
    chained to it (`__cause__`, `__context__`), which tracebacks and LangGraph's retry log print. Changed in
    place, returned."""
    secrets = secret_values()
    if secrets:
        for linked in exception_chain(exc):
            _redact_one(linked, secrets)
    return exc
