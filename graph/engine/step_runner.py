"""Run one tool call as a plan step: timeout, retries with exponential backoff, events, a StepResult.

Retry semantics follow langgraph's `RetryPolicy` (initial_interval, backoff_factor, max_interval,
jitter); the attempt count comes from the step (`retries`) or Context (`step_retries`). Only
errors that can pass are retried: timeouts, connection errors and tool errors marked retryable.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

import httpx
from langchain_core.tools import BaseTool
from langgraph.types import RetryPolicy
from pydantic import ValidationError

from plangate.graph.events import emit
from plangate.graph.io import IO, StepTimeout
from plangate.graph.state import StepResult
from plangate.tools.errors import ToolError

# LangGraph's own default `retry_on`, reached through the public RetryPolicy (the function itself is private).
_LANGGRAPH_RETRY_ON = RetryPolicy().retry_on
STEP_BACKOFF = RetryPolicy(initial_interval=0.5, backoff_factor=2.0, max_interval=8.0, jitter=True)
MAX_OUTPUT_CHARS = 64_000


def is_retryable(exc: BaseException) -> bool:
    """True for failures that may pass on another try; validation and logic errors never do."""
    if isinstance(exc, ToolError):
        return exc.retryable
    if isinstance(exc, ValidationError | ValueError | TypeError | KeyError):
        return False
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in (408, 425, 429) or exc.response.status_code >= 500
    if isinstance(getattr(exc, "status_code", None), int):  # provider errors (openai.APIStatusError): 429, 5xx pass
        return model_error_can_pass(exc)  # type: ignore[arg-type]
    if type(exc).__name__ in ("APIConnectionError", "APITimeoutError"):  # openai's, raised by llm.generate steps
        return True
    return isinstance(exc, StepTimeout | TimeoutError | ConnectionError | httpx.TransportError | OSError)


def model_error_can_pass(exc: Exception) -> bool:
    """`retry_on` for model nodes: HTTP errors by status (408/409/425/429 and 5xx pass; 400, 401, 404... never),
    anything else as langgraph's default (connection errors and timeouts are retried)."""
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status in (408, 409, 425, 429) or status >= 500
    return bool(_LANGGRAPH_RETRY_ON(exc)) if callable(_LANGGRAPH_RETRY_ON) and not isinstance(_LANGGRAPH_RETRY_ON, type) else False


def backoff_seconds(retry_number: int, policy: RetryPolicy = STEP_BACKOFF) -> float:
    """Delay before retry `retry_number` (1-based): exponential, capped, with jitter."""
    interval = min(policy.max_interval, policy.initial_interval * policy.backoff_factor ** (retry_number - 1))
    return interval + random.uniform(0, interval / 2) if policy.jitter else interval


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
        return f"invalid arguments: {problems}"
    text = str(exc).strip() or type(exc).__name__
    return text if isinstance(exc, ToolError | StepTimeout) else f"{type(exc).__name__}: {text}"


def normalize_output(output: Any) -> Any:
    """Tool output as JSON-ready data, cut to MAX_OUTPUT_CHARS so one tool cannot bloat every checkpoint."""
    if hasattr(output, "content") and not isinstance(output, dict | list | str):
        output = output.content
    if isinstance(output, list) and output and all(isinstance(b, dict) and b.get("type") == "text" for b in output):
        output = "\n".join(str(b.get("text", "")) for b in output)  # content blocks (MCP tools): their text
    try:
        text = json.dumps(output, ensure_ascii=False)
        value = output
    except (TypeError, ValueError):
        value = text = str(output)
    if len(text) <= MAX_OUTPUT_CHARS:
        return value
    return {
        "message": f"output truncated from {len(text)} to {MAX_OUTPUT_CHARS} characters",
        "truncated": True,
        "preview": text[:MAX_OUTPUT_CHARS],
    }


async def run_tool_step(
    io: IO,
    tool: BaseTool,
    args: dict[str, Any],
    *,
    name: str,
    step_id: int,
    plan_id: str,
    retries: int,
    timeout_s: float,
) -> StepResult:
    """A StepResult for one step (all attempts included)."""
    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        emit("step_started", plan_id=plan_id, step=step_id, tool=name, attempt=attempt)
        try:
            output = await io.tool(tool, args, timeout_s)
        except Exception as exc:  # classified below; never escapes the step
            error = describe_error(exc)
            retryable = is_retryable(exc)
            if retryable and attempt <= retries:
                delay = backoff_seconds(attempt)
                emit("step_retry", plan_id=plan_id, step=step_id, tool=name, attempt=attempt, delay_s=round(delay, 3), error=error)
                await io.sleep(delay)
                continue
            result = _result("failed", None, error, attempt, started, name)
            result["retryable"] = retryable
            emit("step_failed", plan_id=plan_id, step=step_id, tool=name, attempt=attempt, error=error, duration_ms=result["duration_ms"])
            return result
        result = _result("completed", normalize_output(output), None, attempt, started, name)
        emit("step_completed", plan_id=plan_id, step=step_id, tool=name, attempt=attempt, duration_ms=result["duration_ms"])
        return result


def _result(status: str, output: Any, error: str | None, attempts: int, started: float, tool: str) -> StepResult:
    return {
        "status": status,  # type: ignore[typeddict-item]
        "output": output,
        "error": error,
        "attempts": attempts,
        "duration_ms": int((time.monotonic() - started) * 1000),
        "tool": tool,
    }
