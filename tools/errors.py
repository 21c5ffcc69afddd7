"""Errors tools raise, classified by whether trying again can help."""

from __future__ import annotations


class ToolError(Exception):
    """A tool could not do its job. `retryable` says whether the same call may pass later."""

    retryable: bool = False

    def __init__(self, message: str, *, retryable: bool | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable


class RetryableToolError(ToolError):
    """A transient failure: a dead server, a timeout, a busy resource."""

    retryable = True
