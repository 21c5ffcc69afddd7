"""Small builders shared by tests."""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from plangate import build_graph
from plangate.tools.errors import RetryableToolError
from plangate.tools.metadata import describe_tool


def config(thread: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread or uuid.uuid4().hex}, **extra}


def user(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def make_graph(models: dict | None = None, tools: dict | None = None, **kwargs: Any):
    return build_graph(checkpointer=kwargs.pop("checkpointer", InMemorySaver()), store=kwargs.pop("store", InMemoryStore()),
                       models=models, tools=tools, **kwargs)


class Recorder:
    """Test tools in domain 'test' that record every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.failures: dict[str, int] = {}
        recorder = self

        @tool("echo")
        def echo(text: str) -> dict:
            """Echo text back."""
            recorder.calls.append(("echo", {"text": text}))
            return {"message": f"echo: {text}", "text": text, "n": len(recorder.calls)}

        @tool("flaky")
        def flaky(text: str) -> dict:
            """Fail with a retryable error while failures remain for `text`."""
            recorder.calls.append(("flaky", {"text": text}))
            left = recorder.failures.get(text, 0)
            if left:
                recorder.failures[text] = left - 1
                raise RetryableToolError(f"flaky failure for {text}")
            return {"message": f"flaky ok: {text}"}

        @tool("broken")
        def broken(text: str) -> dict:
            """Always fail, permanently."""
            recorder.calls.append(("broken", {"text": text}))
            raise ValueError(f"broken cannot handle {text}")

        @tool("slow")
        def slow(seconds: float) -> dict:
            """Sleep for `seconds`."""
            import time

            recorder.calls.append(("slow", {"seconds": seconds}))
            time.sleep(seconds)
            return {"message": f"slept {seconds}"}

        @tool("number")
        def number(value: float) -> float:
            """Return the value."""
            recorder.calls.append(("number", {"value": value}))
            return value

        self.tools = [describe_tool(t, keywords=[t.name]) for t in (echo, flaky, broken, slow, number)]

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]
