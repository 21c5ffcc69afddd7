"""How a node reaches the outside world, under `invoke` and `ainvoke` alike.

Every node is one `async def` body. What it waits on (a model, a tool, a backoff sleep, the Store, a blocking
helper) goes through the `io` port it is handed:
- under `ainvoke`, `astream` and `langgraph dev` it is `AsyncIO`: native async calls, so hundreds of threads
  never tie up a worker thread per model or tool call;
- under `invoke` and `stream` it is `BlockingIO`: the same methods make the blocking calls and never suspend,
  so `run_blocking` drives the coroutine to its end without an event loop.
`node()` gives LangGraph both versions of a body through langchain-core's `RunnableLambda(func, afunc=...)`,
and each run's `Runtime[Context]` comes from `langgraph.runtime.get_runtime`.
Errors leave the port with secrets removed (see `plangate.graph.redact`).
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Protocol, TypeVar

from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.runtime import Runtime, get_runtime
from langgraph.store.base import BaseStore, Item

from plangate.graph.context import Context
from plangate.graph.redact import redact_exception

T = TypeVar("T")
State = TypeVar("State")


class StepTimeout(TimeoutError):
    """A tool call ran past its time budget."""


def sleep(seconds: float) -> None:
    """Blocking backoff sleep (tests patch this)."""
    time.sleep(seconds)


async def asleep(seconds: float) -> None:
    """Async backoff sleep (tests patch this)."""
    await asyncio.sleep(seconds)


class IO(Protocol):
    """What a node may wait on. Both implementations have the same async methods."""

    async def model(self, model: Runnable[Any, Any], messages: list[BaseMessage]) -> Any: ...
    async def tool(self, tool: BaseTool, args: dict[str, Any], timeout_s: float) -> Any: ...
    async def sleep(self, seconds: float) -> None: ...
    async def store_get(self, store: BaseStore, namespace: tuple[str, ...], key: str) -> Item | None: ...
    async def store_put(self, store: BaseStore, namespace: tuple[str, ...], key: str, value: dict[str, Any]) -> None: ...
    async def blocking(self, fn: Callable[..., T], *args: Any) -> T: ...
    async def result(self, future: Future[T]) -> T: ...


class BlockingIO:
    """Blocking calls behind async methods that never suspend (the `invoke` path)."""

    async def model(self, model: Runnable[Any, Any], messages: list[BaseMessage]) -> Any:
        with _redacted():
            return model.invoke(messages)

    async def tool(self, tool: BaseTool, args: dict[str, Any], timeout_s: float) -> Any:
        if getattr(tool, "func", None) is None and getattr(tool, "coroutine", None) is not None:
            future = _on_daemon_thread(asyncio.run, tool.ainvoke(args))  # an async-only tool gets a loop of its own
        else:
            future = _on_daemon_thread(tool.invoke, args)
        with _redacted():
            try:
                return future.result(timeout=timeout_s)
            except FutureTimeout:
                raise StepTimeout(f"{tool.name} did not finish within {timeout_s:g}s") from None

    async def sleep(self, seconds: float) -> None:
        sleep(seconds)

    async def store_get(self, store: BaseStore, namespace: tuple[str, ...], key: str) -> Item | None:
        with _redacted():
            return store.get(namespace, key)

    async def store_put(self, store: BaseStore, namespace: tuple[str, ...], key: str, value: dict[str, Any]) -> None:
        with _redacted():
            store.put(namespace, key, value)

    async def blocking(self, fn: Callable[..., T], *args: Any) -> T:
        with _redacted():
            return fn(*args)

    async def result(self, future: Future[T]) -> T:
        """Wait for a future another thread resolves (a step's turn to run)."""
        return future.result()


class AsyncIO:
    """Native async calls (the `ainvoke` path)."""

    async def model(self, model: Runnable[Any, Any], messages: list[BaseMessage]) -> Any:
        with _redacted():
            return await model.ainvoke(messages)

    async def tool(self, tool: BaseTool, args: dict[str, Any], timeout_s: float) -> Any:
        if _native_async(tool):
            call: Awaitable[Any] = tool.ainvoke(args)
        else:  # not the loop's default executor: asyncio.run() would wait for a hung tool at exit
            call = asyncio.wrap_future(_on_daemon_thread(tool.invoke, args))
        with _redacted():
            try:
                return await asyncio.wait_for(call, timeout=timeout_s)
            except TimeoutError:
                raise StepTimeout(f"{tool.name} did not finish within {timeout_s:g}s") from None

    async def sleep(self, seconds: float) -> None:
        await asleep(seconds)

    async def store_get(self, store: BaseStore, namespace: tuple[str, ...], key: str) -> Item | None:
        with _redacted():
            return await store.aget(namespace, key)

    async def store_put(self, store: BaseStore, namespace: tuple[str, ...], key: str, value: dict[str, Any]) -> None:
        with _redacted():
            await store.aput(namespace, key, value)

    async def blocking(self, fn: Callable[..., T], *args: Any) -> T:
        with _redacted():
            return await asyncio.to_thread(fn, *args)

    async def result(self, future: Future[T]) -> T:
        """Wait for a future another task resolves (a step's turn to run), without blocking the loop."""
        return await asyncio.wrap_future(future)


class _redacted:
    """Re-raise any error from the outside world with secrets removed from its text."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, Exception):
            redact_exception(exc)  # changed in place; the error goes on


BLOCKING: IO = BlockingIO()
ASYNC: IO = AsyncIO()


def run_blocking(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a node body that awaits only `BlockingIO` (which never suspends) to its end, with no event loop."""
    try:
        awaited = coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError(
        f"{coroutine.__qualname__} awaited {awaited!r} outside its io port, which cannot run under invoke(); "
        "reach models, tools, sleeps and the Store through `io`"
    )


NodeBody = Callable[[State, Runtime[Context], IO], Coroutine[Any, Any, dict[str, Any]]]


def node(body: NodeBody[Any], name: str) -> RunnableLambda[Any, dict[str, Any]]:
    """A LangGraph node running `body(state, runtime, io)` natively under both `invoke` and `ainvoke`."""

    def run_sync(state: Any) -> dict[str, Any]:
        return run_blocking(body(state, get_runtime(Context), BLOCKING))

    async def run_async(state: Any) -> dict[str, Any]:
        return await body(state, get_runtime(Context), ASYNC)

    return RunnableLambda(run_sync, afunc=run_async, name=name)


def _native_async(tool: BaseTool) -> bool:
    if getattr(tool, "coroutine", None) is not None:
        return True
    return not isinstance(tool, StructuredTool) and type(tool)._arun is not BaseTool._arun


def _on_daemon_thread(fn: Callable[..., Any], *args: Any) -> Future[Any]:
    """Run `fn(*args)` in the caller's context on a daemon thread of its own. A tool that hangs past its
    timeout then never blocks interpreter exit (pool workers are joined at exit) nor uses up a shared pool."""
    future: Future[Any] = Future()
    ctx = contextvars.copy_context()

    def target() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(ctx.run(fn, *args))
            except BaseException as exc:  # handed to the waiting step
                future.set_exception(exc)

    threading.Thread(target=target, name="plangate-tool", daemon=True).start()
    return future
