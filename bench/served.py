"""The bench graph as a LangGraph server loads it (section 7, throughput): plangate on the bench's scripted model
and tools, with the latencies the bench sets in the server's environment (BENCH_MODEL_S, BENCH_TOOL_S).

In-process, the harness tells `LatencyChatModel` which task it is answering (`bench.latency_model.active`). A server
gives a graph no such hook, so here the model finds the task by its request, which every plangate prompt carries
(the suite's requests are unique); tool calls are then checked against the run's metrics instead of a tool log.
"""

from __future__ import annotations

import json
import os
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from bench.latency_model import LatencyChatModel, Run, active, current_run
from bench.tasks import SUITE, Task
from bench.tools import make_tools
from plangate import build_graph

BY_REQUEST = sorted(SUITE, key=lambda t: len(t.request), reverse=True)  # longest first: no request is cut short


def task_for(messages: list[BaseMessage]) -> Task:
    """The suite task whose request appears in the prompt."""
    text = "\n".join(m.content if isinstance(m.content, str) else json.dumps(m.content) for m in messages)
    for task in BY_REQUEST:
        if task.request in text:
            return task
    raise ValueError("the bench model got a prompt without a suite request in it")


class ServedLatencyModel(LatencyChatModel):
    """`LatencyChatModel` that finds its task in the prompt when no bench run is active."""

    def _respond(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> tuple[AIMessage, float]:
        if current_run(required=False) is not None:
            return super()._respond(messages, kwargs)
        with active(Run(task_for(messages))):
            return super()._respond(messages, kwargs)


def build(model_s: float, tool_s: float, checkpointer: Any = None) -> Any:
    """plangate on the served model and the bench tools (no checkpointer: the server brings its own)."""
    model = ServedLatencyModel(latency_s=model_s)
    return build_graph(checkpointer=checkpointer, tools=make_tools(tool_s),
                       models={"weak": model, "default": model, "strong": model}, include_builtin_tools=False,
                       name="plangate_bench")


graph = build(float(os.environ.get("BENCH_MODEL_S", "0.5")), float(os.environ.get("BENCH_TOOL_S", "0.3")))
