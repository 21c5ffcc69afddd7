"""Fixtures for the reliability suite: a fault-injecting model server and a Context pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from plangate.graph.context import Context
from tests.reliability.fake_openai import FakeOpenAI, Message, forced_tool, text, tool_reply

PLAN_STEPS = [{"id": 1, "tool": "test.echo", "args": {"text": "a"}}]


def plangate_responder(route: str = "plan", steps: list[dict[str, Any]] | None = None, domain: str = "test"):
    """Well-behaved answers to every request plangate makes: route, plan, replan (finish), fast tool, summary."""

    def respond(body: dict[str, Any]) -> Message:
        name = forced_tool(body)
        if name == "RouteDecision":
            return tool_reply(name, {"route": route, "domain": domain, "confidence": 0.99, "reasoning": "fake server"})
        if name == "PlanDraft":
            return tool_reply(name, {"goal": "g", "reasoning": "fake server", "steps": steps or PLAN_STEPS})
        if name == "ReplanDecision":
            return tool_reply(name, {"action": "finish", "reasoning": "fake server", "steps": []})
        if name or body.get("tools"):
            return tool_reply(name or "test__echo", {"text": "fast"})
        return text("final summary")

    return respond


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(responder=plangate_responder()) as fake:
        yield fake


def endpoint_context(server: FakeOpenAI, **overrides: Any) -> Context:
    """A Context using `server` with short timeouts and one client retry."""
    values: dict[str, Any] = dict(base_url=server.base_url, router_mode="llm", model_timeout_s=0.3, model_max_retries=1,
                                  plan_library=False, weak_model="fake-model", default_model="fake-model",
                                  strong_model="fake-model")
    values.update(overrides)
    return Context(**values)
