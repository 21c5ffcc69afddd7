"""The plangate graph, wired like the diagram in DESIGN.md.

    START -> router --fast (confidence >= fast_threshold)--> fast_reply -> END
                    --plan / unsure / low confidence-----> planner -> approve_plan -> dispatch
                    --explicit "plan" in the input-------> approve_plan -> dispatch
    dispatch --Send(run_step) per ready step--> run_step --> dispatch
    dispatch --side effects need approval--> approve_steps --> dispatch
    dispatch --settled, unhandled failures, replans left--> replanner --finish, with the answer--> END
                                                                     --replace steps-----------> dispatch
    dispatch --all settled--> summarizer (the plan's answer template when every step completed) -> END

`build_graph(checkpointer=..., store=...)` compiles one for apps and the CLI. The prebuilt `graph`
(`plangate.graph.graph:graph`, served by `langgraph dev`) has no checkpointer, because the server manages
persistence itself; it is compiled once per process, when first read, never at import.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterable, Mapping
from dataclasses import fields
from functools import partial
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import RetryPolicy

from plangate.graph.context import Context, ContextError, coerce_context
from plangate.graph.engine import board as boards
from plangate.graph.engine.step_runner import model_error_can_pass
from plangate.graph.io import node
from plangate.graph.services import Services
from plangate.graph.state import AgentState, InputState, OutputState
from plangate.nodes.approval import approve_plan, approve_steps, route_after_approve_plan
from plangate.nodes.executor import dispatch, route_after_dispatch, run_step
from plangate.nodes.fast_reply import fast_reply, route_after_fast_reply
from plangate.nodes.planner import planner, route_after_planner
from plangate.nodes.replanner import replanner, route_after_replanner
from plangate.nodes.router import route_after_router, router
from plangate.nodes.summarizer import summarizer
from plangate.tools.registry import build_registry

log = logging.getLogger("plangate")
PlangateGraph = CompiledStateGraph[AgentState, Context, InputState, OutputState]
_PREBUILT_LOCK = threading.Lock()
_prebuilt: PlangateGraph | None = None

# Model nodes retry transient provider errors once more on top of the client's own retries.
MODEL_RETRY = RetryPolicy(initial_interval=1.0, backoff_factor=2.0, max_attempts=2, retry_on=model_error_can_pass)


def build_graph(
    *,
    checkpointer: Any = None,
    store: Any = None,
    tools: Mapping[str, Iterable[BaseTool]] | None = None,
    models: Mapping[str, BaseChatModel] | None = None,
    include_builtin_tools: bool | Collection[str] = True,
    name: str = "plangate",
) -> PlangateGraph:
    """Compile the plangate graph.

    tools: extra tools by domain (`{"crm": [lookup_customer]}`), named `crm.lookup_customer` in plans.
    include_builtin_tools: True (every built-in domain), False (none), or the built-in domains to keep.
    models: `{"weak"|"default"|"strong": BaseChatModel}`; tiers not given come from the endpoint or
    the offline rules model.
    """

    def default_model(ctx: Context) -> BaseChatModel:  # what llm.generate steps ask
        return services.model(ctx, "default")

    registry = build_registry(tools, include_builtin_tools=include_builtin_tools, llm_model=default_model)
    services = Services(registry, dict(models or {}))

    def add(name: str, body: Any, **options: Any) -> None:
        builder.add_node(name, node(partial(body, services=services), name), **options)

    builder = StateGraph(AgentState, context_schema=Context, input_schema=InputState, output_schema=OutputState)
    add("router", router)
    add("fast_reply", fast_reply)
    add("planner", planner, retry_policy=MODEL_RETRY)
    add("approve_plan", approve_plan)
    add("dispatch", dispatch)
    add("run_step", run_step)
    add("approve_steps", approve_steps)
    add("replanner", replanner, retry_policy=MODEL_RETRY)
    add("summarizer", summarizer)

    builder.add_edge(START, "router")
    builder.add_conditional_edges("router", route_after_router)
    builder.add_conditional_edges("fast_reply", route_after_fast_reply)
    builder.add_conditional_edges("planner", route_after_planner)
    builder.add_conditional_edges("approve_plan", route_after_approve_plan)
    route_waves = partial(route_after_dispatch, watch_saves=boards.watch(checkpointer))
    builder.add_conditional_edges("dispatch", route_waves, ["run_step", "approve_steps", "replanner", "summarizer"])
    builder.add_edge("run_step", "dispatch")
    builder.add_edge("approve_steps", "dispatch")
    builder.add_conditional_edges("replanner", route_after_replanner)
    builder.add_edge("summarizer", END)

    compiled = builder.compile(checkpointer=checkpointer, store=store, name=name)
    log.info("plangate: compiled graph %r (%d tools)", name, len(services.registry.names()))
    limited = _RunContextLimit(**vars(compiled))  # a copy, as `with_config` makes one
    return limited.with_config(recursion_limit=_default_recursion_limit())


class _RunContextLimit(CompiledStateGraph[AgentState, Context, InputState, OutputState]):
    """The compiled graph, with each run's recursion limit derived from that run's Context (`max_plan_steps`,
    `max_replans`), unless the caller's config sets one. The compiled-in limit is the default Context's.

    Under `invoke`/`stream` the tasks of a wave wait for their turn in LangGraph's thread pool, whose default size
    (min(32, CPUs + 4)) a wide or long wave fills, leaving no thread for the checkpoint writes the steps wait on:
    unless the caller sets `max_concurrency`, the pool gets room for a whole wave (threads start only when needed)."""

    def stream(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        return super().stream(input, _run_pool(_run_limit(config, kwargs.get("context")), kwargs.get("context")), **kwargs)

    def astream(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        return super().astream(input, _run_limit(config, kwargs.get("context")), **kwargs)


def _run_pool(config: Any, context: Any) -> Any:
    if isinstance(config, Mapping) and "max_concurrency" in config:
        return config
    try:
        ctx = coerce_context(context)
    except ContextError:
        return config
    return {**(config or {}), "max_concurrency": ctx.max_plan_steps * (ctx.max_replans + 1) + 16}


def _run_limit(config: Any, context: Any) -> Any:
    if context is None or (isinstance(config, Mapping) and "recursion_limit" in config):
        return config
    try:
        limit = coerce_context(context).recursion_limit()
    except ContextError:
        return config  # the run reports the bad Context itself
    return {**(config or {}), "recursion_limit": limit}


def _default_recursion_limit() -> int:
    """From the PLANGATE_* settings; a bad value is reported when a run makes its Context, not at import."""
    try:
        return Context().recursion_limit()
    except ContextError:
        return Context(**{f.name: f.metadata["base"] for f in fields(Context)}).recursion_limit()


def prebuilt() -> PlangateGraph:
    """The graph `langgraph dev` serves: compiled with no checkpointer, once per process, on first use."""
    global _prebuilt
    with _PREBUILT_LOCK:
        if _prebuilt is None:
            _prebuilt = build_graph()
        return _prebuilt


def __getattr__(name: str) -> Any:
    """`plangate.graph.graph:graph` is `prebuilt()`: nothing is compiled when this module is imported."""
    if name == "graph":
        return prebuilt()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
