"""Run labelled requests through the real graph (dry-run tools) and record what it decided and did."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.store.memory import InMemoryStore

from plangate.graph.context import Context
from plangate.graph.eval.dataset import CONVERSATION, LabelledRequest
from plangate.graph.eval.dryrun import KEEP_REAL, dry_run_tools
from plangate.tools.registry import builtin_tools


@dataclass
class Observation:
    """What the graph did with one request."""

    request: LabelledRequest
    route: str  # after the gate
    proposed_route: str  # what the deciding router stage proposed, before the gate
    domain: str
    confidence: float
    acted: list[str] = field(default_factory=list)  # "domain.tool" per action; ["conversation"] for a reply
    answer: str = ""
    model_calls: int = 0
    latency_ms: float = 0.0
    error: str | None = None


def eval_context(mode: str | None = None, **overrides: Any) -> Context:
    """The run's Context: the environment's, with nothing that pauses, learns or persists between requests."""
    settings: dict[str, Any] = {"approve_plans": False, "approve_side_effects": "off", "high_risk_devices": "",
                                "plan_library": False, **overrides}  # dry-run tools: even a lock need not pause
    if mode:
        settings["router_mode"] = mode
    return Context.from_env(**settings)


def eval_graph(models: dict[str, Any] | None = None) -> Any:
    """The plangate graph with dry-run copies of the built-in tools and a throwaway store."""
    from plangate.graph.graph import build_graph

    dry = dry_run_tools({d: ts for d, ts in builtin_tools().items() if d not in KEEP_REAL})
    return build_graph(tools=dry, include_builtin_tools=KEEP_REAL, models=models, store=InMemoryStore(), name="plangate-eval")


def _acted(values: dict[str, Any]) -> list[str]:
    plan = values.get("plan")
    if plan:
        return [str(step.get("tool")) for step in plan.get("steps") or []]
    tools = [str(r.get("tool")) for _, r in sorted((values.get("step_results") or {}).items()) if r.get("tool")]
    return tools or ([CONVERSATION] if values.get("route") == "fast" and not values.get("error") else [])


def observe(graph: Any, item: LabelledRequest, ctx: Context) -> Observation:
    """Run one request and record its route, confidence, actions, answer, model calls and latency."""
    decided: dict[str, Any] = {}
    values: dict[str, Any] = {}
    started = time.perf_counter()
    error = None
    try:
        payload = {"messages": [{"role": "user", "content": item.text}]}
        for mode, chunk in graph.stream(payload, {"recursion_limit": ctx.recursion_limit()}, context=ctx,
                                        stream_mode=["custom", "values"]):
            if mode == "custom" and isinstance(chunk, dict) and chunk.get("event") == "route_decided":
                decided = chunk
            elif mode == "values":
                values = chunk
    except Exception as exc:  # a broken model must show up in the scores, not stop the run
        error = f"{type(exc).__name__}: {exc}"[:300]
    latency = (time.perf_counter() - started) * 1000
    messages = values.get("messages") or []
    answer = next((str(m.content) for m in reversed(messages) if isinstance(m, AIMessage)), "")
    route = str(values.get("route") or decided.get("route") or "plan")
    return Observation(
        request=item, route=route, proposed_route=str(decided.get("proposed") or route),
        domain=str(values.get("domain") or decided.get("domain") or ""),
        confidence=float(values.get("confidence") or decided.get("confidence") or 0.0),
        acted=_acted(values), answer=answer, model_calls=int((values.get("metrics") or {}).get("llm_calls") or 0),
        latency_ms=latency, error=error or values.get("error"),
    )


def run_all(items: Sequence[LabelledRequest], ctx: Context, graph: Any = None,
            progress: Callable[[int], None] | None = None) -> list[Observation]:
    """Observe every request in order; `progress(done)` after each."""
    graph = graph or eval_graph()
    found = []
    for index, item in enumerate(items, 1):
        found.append(observe(graph, item, ctx))
        if progress:
            progress(index)
    return found
