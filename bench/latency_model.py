"""A scripted chat model with latency and token accounting, for benchmarks.

`LatencyChatModel` waits `latency_s` per call plus `per_token_s` per output token (asyncio.sleep
under `ainvoke`, time.sleep under `invoke`), reports `usage_metadata` (about 4 characters a token,
tool schemas included in the input) and supports `bind_tools` / `with_structured_output`. What it
answers comes from `bench.policy.reply`, which reads the task of the current bench run: every
system gets the replies a competent model would give for that task, so all do identical work.

The current run (`Run`: the task plus counters of model calls, tokens and tool calls) lives in a
context variable set by the harness; LangGraph copies contexts into node tasks, so concurrent
runs never mix their counters.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool

if TYPE_CHECKING:
    from bench.tasks import Task

CHARS_PER_TOKEN = 4


@dataclass
class Run:
    """One request of one system: its task and what it spent."""

    task: Task
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    model_cpu_s: float = 0.0  # time spent computing scripted replies (not sleeping): simulation cost
    kinds: Counter = field(default_factory=Counter)  # model calls by purpose (route, plan, agent, ...)
    tool_log: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record_model(self, kind: str, input_tokens: int, output_tokens: int, cpu_s: float) -> None:
        with self.lock:
            self.model_calls += 1
            self.input_tokens += input_tokens
            self.output_tokens += output_tokens
            self.model_cpu_s += cpu_s
            self.kinds[kind] += 1

    def record_tool(self, plan_name: str, args: dict[str, Any]) -> None:
        with self.lock:
            self.tool_log.append((plan_name, dict(args)))


_CURRENT: contextvars.ContextVar[Run | None] = contextvars.ContextVar("bench_run", default=None)


def current_run(required: bool = True) -> Run | None:
    run = _CURRENT.get()
    if run is None and required:
        raise RuntimeError("no bench run is active: call the system inside `with active(Run(task))`")
    return run


class active:  # noqa: N801 - used as a context manager
    """`with active(run):` makes `run` the current bench run (in this context only)."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self._token: contextvars.Token | None = None

    def __enter__(self) -> Run:
        self._token = _CURRENT.set(self.run)
        return self.run

    def __exit__(self, *exc: object) -> None:
        assert self._token is not None
        _CURRENT.reset(self._token)


def _text(message: BaseMessage) -> str:
    content = message.content
    text = content if isinstance(content, str) else json.dumps(content, default=str)
    calls = getattr(message, "tool_calls", None)
    return text + (json.dumps(calls, default=str) if calls else "")


def count_tokens(text: str) -> int:
    return max(1, -(-len(text) // CHARS_PER_TOKEN))


class LatencyChatModel(BaseChatModel):
    """A chat model whose replies follow the current task, with a configurable latency per call and per token."""

    latency_s: float = 0.5
    per_token_s: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "bench-latency"

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Runnable:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], tool_choice=tool_choice, **kwargs)

    def _respond(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> tuple[AIMessage, float]:
        from bench.policy import reply  # the policy imports the task model; keep this module light

        started = time.perf_counter()
        run = current_run()
        assert run is not None
        tools = kwargs.get("tools") or []
        kind, message = reply(run.task, messages, tools, kwargs.get("tool_choice"))
        prompt = "".join(_text(m) for m in messages) + (json.dumps(tools) if tools else "")
        input_tokens, output_tokens = count_tokens(prompt), count_tokens(_text(message))
        message.usage_metadata = {"input_tokens": input_tokens, "output_tokens": output_tokens,
                                  "total_tokens": input_tokens + output_tokens}
        run.record_model(kind, input_tokens, output_tokens, time.perf_counter() - started)
        return message, self.latency_s + self.per_token_s * output_tokens

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        message, delay = self._respond(messages, kwargs)
        if delay:
            time.sleep(delay)
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                         **kwargs: Any) -> ChatResult:
        message, delay = self._respond(messages, kwargs)
        if delay:
            await asyncio.sleep(delay)
        return ChatResult(generations=[ChatGeneration(message=message)])
