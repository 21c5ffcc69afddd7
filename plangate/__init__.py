"""plangate: a LangGraph agent graph with a confidence-gated router and a checkpointed plan executor.

    from plangate import build_graph, Context

Importing `plangate` is cheap: the names below are loaded on first use, and nothing is compiled until
`build_graph()` is called or the prebuilt graph `plangate.graph.graph:graph` is first read.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plangate.graph.context import Context
    from plangate.graph.engine.plan import ExecutionPlan, PlanStep, PlanValidationError, validate_plan
    from plangate.graph.graph import build_graph

_EXPORTS = {
    "build_graph": "plangate.graph.graph",
    "Context": "plangate.graph.context",
    "ExecutionPlan": "plangate.graph.engine.plan",
    "PlanStep": "plangate.graph.engine.plan",
    "PlanValidationError": "plangate.graph.engine.plan",
    "validate_plan": "plangate.graph.engine.plan",
}
__all__ = ["Context", "ExecutionPlan", "PlanStep", "PlanValidationError", "build_graph", "validate_plan"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'plangate' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
