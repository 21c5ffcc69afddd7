"""Bench tools: one per action, with a configurable latency, deterministic outputs and some that fail.

Every tool takes string arguments and returns `{"message", "value"}`, where `value` is a pure
function of the tool and its arguments, so the task suite knows in advance what a chained step
receives. A call whose arguments hold a BROKEN value fails permanently (ToolError, not retryable).
Calls are recorded on the current bench run (`bench.latency_model.current_run`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import Field, create_model

from bench.latency_model import current_run
from plangate.tools.errors import ToolError
from plangate.tools.metadata import describe_tool

BROKEN = frozenset({"ZZZZ", "XX999", "garage door", "Atlantis"})


@dataclass(frozen=True)
class ToolSpec:
    domain: str
    name: str
    params: tuple[str, ...]
    keywords: tuple[str, ...]
    description: str
    latency_x: float = 1.0  # multiple of the base tool latency

    @property
    def plan_name(self) -> str:
        return f"{self.domain}.{self.name}"


SPECS: tuple[ToolSpec, ...] = (
    ToolSpec("weather", "forecast", ("place",), ("weather", "forecast", "rain", "temperature"), "Weather forecast for a place."),
    ToolSpec("calendar", "add_event", ("title", "when"), ("calendar", "appointment", "meeting"), "Add an event to the calendar."),
    ToolSpec("calendar", "agenda", ("day",), ("agenda",), "List the calendar events of a day."),
    ToolSpec("home", "set_device", ("device", "state"), ("lights", "thermostat", "heating", "lock", "garage"),
             "Switch or set a smart home device."),
    ToolSpec("search", "web_search", ("query",), ("search", "look up"), "Search the web."),
    ToolSpec("notify", "send_message", ("to", "text"), ("message", "notify", "email"), "Send a message to a person."),
    ToolSpec("news", "headlines", ("topic",), ("news", "headlines"), "Latest news headlines about a topic."),
    ToolSpec("finance", "stock_quote", ("symbol",), ("stock",), "Current stock price of a ticker symbol."),
    ToolSpec("travel", "flight_status", ("flight",), ("flight",), "Status and arrival time of a flight."),
    ToolSpec("travel", "book_taxi", ("pickup", "destination"), ("taxi",), "Book a taxi."),
    ToolSpec("translate", "translate", ("text", "language"), ("translate",), "Translate text into a language."),
    ToolSpec("research", "deep_report", ("topic",), ("report",), "A long research report (slow).", latency_x=3.0),
    ToolSpec("research", "quick_fact", ("topic",), ("fact",), "A quick fact lookup (fast).", latency_x=1 / 3),
)
BY_PLAN_NAME = {s.plan_name: s for s in SPECS}


def tool_value(plan_name: str, args: dict[str, Any]) -> str:
    """The deterministic `value` a tool returns for `args`."""
    digest = hashlib.sha1(json.dumps([plan_name, args], sort_keys=True).encode()).hexdigest()[:8]
    return f"{plan_name.split('.')[1]}-{digest}"


def _check(spec: ToolSpec, args: dict[str, Any]) -> dict[str, Any]:
    for value in args.values():
        if value in BROKEN:
            raise ToolError(f"{spec.name}: {value!r} is not available", retryable=False)
    value = tool_value(spec.plan_name, args)
    return {"message": f"{spec.name} done: {value}", "value": value}


def make_tool(spec: ToolSpec, latency_s: float) -> BaseTool:
    """A StructuredTool (sync and async) for `spec` that sleeps `latency_s * spec.latency_x` per call."""
    delay = latency_s * spec.latency_x
    schema = create_model(  # type: ignore[call-overload]
        f"{spec.name.title().replace('_', '')}Args", **{p: (str, Field(description=p)) for p in spec.params}
    )

    def record(args: dict[str, Any]) -> None:
        run = current_run(required=False)
        if run is not None:
            run.record_tool(spec.plan_name, args)

    def func(**args: Any) -> dict[str, Any]:
        record(args)
        if delay:
            time.sleep(delay)
        return _check(spec, args)

    async def coroutine(**args: Any) -> dict[str, Any]:
        record(args)
        if delay:
            await asyncio.sleep(delay)
        return _check(spec, args)

    tool = StructuredTool.from_function(
        func=func, coroutine=coroutine, name=spec.name, description=spec.description, args_schema=schema
    )
    return describe_tool(tool, domain=spec.domain, keywords=spec.keywords)


def make_tools(latency_s: float) -> dict[str, list[BaseTool]]:
    """Bench tools by domain, for `build_graph(tools=...)`."""
    by_domain: dict[str, list[BaseTool]] = {}
    for spec in SPECS:
        by_domain.setdefault(spec.domain, []).append(make_tool(spec, latency_s))
    return by_domain


def flat(tools: dict[str, list[BaseTool]]) -> list[BaseTool]:
    """The same tools as one list, for the baselines (tool names are unique across domains)."""
    return [t for items in tools.values() for t in items]
