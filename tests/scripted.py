"""A scripted chat model for tests: replies come from a queue, every call is recorded.

Unlike langchain_core's GenericFakeChatModel it supports `bind_tools`, so it can stand in for any
model tier. Replies can be AIMessages, strings, exceptions (raised) or callables of the messages.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

Reply = AIMessage | str | Exception | Callable[[list[BaseMessage]], Any]


def tool_call(name: str, args: dict[str, Any]) -> AIMessage:
    """An AIMessage calling tool `name` with `args`."""
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:8]}", "type": "tool_call"}])


def route(route: str, domain: str = "timer", confidence: float = 0.99, reasoning: str = "scripted") -> AIMessage:
    return tool_call("RouteDecision", {"route": route, "domain": domain, "confidence": confidence, "reasoning": reasoning})


def plan(steps: list[dict[str, Any]], goal: str = "scripted goal") -> AIMessage:
    return tool_call("PlanDraft", {"goal": goal, "reasoning": "scripted", "steps": steps})


def replan(action: str, steps: list[dict[str, Any]] | None = None, reasoning: str = "scripted") -> AIMessage:
    return tool_call("ReplanDecision", {"action": action, "reasoning": reasoning, "steps": steps or []})


class ScriptedChatModel(BaseChatModel):
    """Returns queued replies in order; records (messages, kwargs) of every call in `calls`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    replies: list[Any] = Field(default_factory=list)
    default: Any = None
    latency_s: float = 0.0
    calls: list[dict[str, Any]] = Field(default_factory=list)
    lock: Any = Field(default_factory=threading.Lock, exclude=True)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Runnable:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], tool_choice=tool_choice, **kwargs)

    def _next(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        with self.lock:
            self.calls.append({"messages": list(messages), "tools": [t["function"]["name"] for t in kwargs.get("tools") or []],
                               "tool_choice": kwargs.get("tool_choice")})
            reply = self.replies.pop(0) if self.replies else self.default
        if reply is None:
            raise AssertionError(f"ScriptedChatModel ran out of replies after {len(self.calls)} call(s)")
        if callable(reply) and not isinstance(reply, BaseMessage):
            reply = reply(messages)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, str):
            reply = AIMessage(content=reply)
        return reply.model_copy(update={"id": f"scripted-{uuid.uuid4().hex[:8]}"})

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        if self.latency_s:
            time.sleep(self.latency_s)
        return ChatResult(generations=[ChatGeneration(message=self._next(messages, kwargs))])

    async def _agenerate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        return ChatResult(generations=[ChatGeneration(message=self._next(messages, kwargs))])

    def calls_for(self, tool_name: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if tool_name in c["tools"]]
