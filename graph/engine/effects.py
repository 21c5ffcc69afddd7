"""One node body for both `invoke` and `ainvoke`.

Node logic that waits on the outside world (a model, a tool, a backoff sleep) is written once as a
generator that *yields effects* and receives their results. `run_sync` performs them with blocking
calls; `run_async` awaits them, so `ainvoke` never ties up a worker thread per model or tool call
(which matters at hundreds of concurrent threads). `dual_node` gives LangGraph both versions.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Callable, Generator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool, StructuredTool
from langgraph._internal._runnable import RunnableCallable  # the Runnable LangGraph itself uses for nodes

from plangate.graph.redact import redact_exception


class StepTimeout(TimeoutError):
    """A tool call ran past its time budget."""


@dataclass
class ModelCall:
    """Ask a chat model (or a model bound to tools / a schema)."""

    model: Runnable | BaseChatModel
    messages: list[BaseMessage]

    def run(self) -> Any:
        return self.model.invoke(self.messages)

    async def arun(self) -> Any:
        return await self.model.ainvoke(self.messages)


@dataclass
class ToolRun:
    """Run one tool call with a timeout; the tool sees the graph's store, runtime and stream writer."""

    tool: BaseTool
    args: dict[str, Any]
    timeout_s: float

    def run(self) -> Any:
        if getattr(self.tool, "func", None) is None and getattr(self.tool, "coroutine", None) is not None:
            future = _on_daemon_thread(asyncio.run, self.tool.ainvoke(self.args))
        else:
            future = _on_daemon_thread(self.tool.invoke, self.args)
        try:
            return future.result(timeout=self.timeout_s)
        except FutureTimeout:
            raise StepTimeout(f"{self.tool.name} did not finish within {self.timeout_s:g}s") from None

    async def arun(self) -> Any:
        if _native_async(self.tool):
            call = self.tool.ainvoke(self.args)
        else:  # not the loop's default executor: asyncio.run() would wait for a hung tool at exit
            call = asyncio.wrap_future(_on_daemon_thread(self.tool.invoke, self.args))
        try:
            return await asyncio.wait_for(call, timeout=self.timeout_s)
        except TimeoutError:
            raise StepTimeout(f"{self.tool.name} did not finish within {self.timeout_s:g}s") from None


def _native_async(tool: BaseTool) -> bool:
    if getattr(tool, "coroutine", None) is not None:
        return True
    return not isinstance(tool, StructuredTool) and type(tool)._arun is not BaseTool._arun


def _on_daemon_thread(fn: Callable[..., Any], *args: Any) -> Future:
    """Run `fn(*args)` in the caller's context on a daemon thread of its own. A tool that hangs past its
    timeout then never blocks interpreter exit (pool workers are joined at exit) nor uses up a shared pool."""
    future: Future = Future()
    ctx = contextvars.copy_context()

    def target() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(ctx.run(fn, *args))
            except BaseException as exc:  # handed to the waiting step
                future.set_exception(exc)

    threading.Thread(target=target, name="plangate-tool", daemon=True).start()
    return future


def sleep(seconds: float) -> None:
    """Blocking backoff sleep (tests patch this)."""
    time.sleep(seconds)


async def asleep(seconds: float) -> None:
    """Async backoff sleep (tests patch this)."""
    await asyncio.sleep(seconds)


@dataclass
class Sleep:
    """Wait before a retry."""

    seconds: float

    def run(self) -> None:
        sleep(self.seconds)

    async def arun(self) -> None:
        await asleep(self.seconds)


@dataclass
class StoreGet:
    """Read one item from the LangGraph Store (sync or async store alike)."""

    store: Any
    namespace: tuple[str, ...]
    key: str

    def run(self) -> Any:
        return self.store.get(self.namespace, self.key)

    async def arun(self) -> Any:
        return await self.store.aget(self.namespace, self.key)


@dataclass
class StorePut:
    """Write one item to the LangGraph Store."""

    store: Any
    namespace: tuple[str, ...]
    key: str
    value: dict[str, Any]

    def run(self) -> None:
        self.store.put(self.namespace, self.key, self.value)

    async def arun(self) -> None:
        await self.store.aput(self.namespace, self.key, self.value)


@dataclass
class Blocking:
    """Call a blocking function: directly under invoke, on a worker thread under ainvoke."""

    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()

    def run(self) -> Any:
        return self.fn(*self.args)

    async def arun(self) -> Any:
        return await asyncio.to_thread(self.fn, *self.args)


Effect = ModelCall | ToolRun | Sleep | StoreGet | StorePut | Blocking
Flow = Generator[Effect, Any, Any]


def run_sync(flow: Flow) -> Any:
    """Drive `flow` to its return value, performing each effect with blocking calls."""
    result: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = flow.throw(error) if error is not None else flow.send(result)
        except StopIteration as stop:
            return stop.value
        result, error = None, None
        try:
            result = effect.run()
        except Exception as exc:  # handed to the flow, which decides
            error = redact_exception(exc)


async def run_async(flow: Flow) -> Any:
    """Drive `flow` to its return value, awaiting each effect."""
    result: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = flow.throw(error) if error is not None else flow.send(result)
        except StopIteration as stop:
            return stop.value
        result, error = None, None
        try:
            result = await effect.arun()
        except Exception as exc:
            error = redact_exception(exc)


def dual_node(flow_fn: Callable[..., Flow], name: str | None = None) -> RunnableCallable:
    """A LangGraph node running `flow_fn(state, runtime)` natively under both invoke and ainvoke."""

    def sync_node(state: Any, runtime: Any) -> Any:
        return run_sync(flow_fn(state, runtime))

    async def async_node(state: Any, runtime: Any) -> Any:
        return await run_async(flow_fn(state, runtime))

    node_name = name or flow_fn.__name__.removesuffix("_flow")
    sync_node.__name__ = async_node.__name__ = node_name
    return RunnableCallable(sync_node, async_node, name=node_name)
