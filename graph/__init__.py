"""plangate: a LangGraph agent graph with a confidence-gated router and a checkpointed plan executor."""

from graph.context import Context
from graph.graph import build_graph, graph
from graph.plan import ExecutionPlan, PlanStep, PlanValidationError, validate_plan

__all__ = ["Context", "ExecutionPlan", "PlanStep", "PlanValidationError", "build_graph", "graph", "validate_plan"]
