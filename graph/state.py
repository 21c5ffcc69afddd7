"""Graph state. TypedDicts from typing_extensions (typing.TypedDict breaks schema extraction on 3.11).

Plans and step results are stored as plain JSON-ready dicts so that checkpoints, Studio and the
SDK all see the same shapes; `ExecutionPlan.model_validate(state["plan"])` gives the typed view.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, NotRequired, TypeVar

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict  # typing.TypedDict breaks schema extraction on 3.11

V = TypeVar("V")

Route = Literal["fast", "plan"]
StepStatus = Literal["pending", "running", "completed", "failed", "skipped"]
NextAction = Literal["run", "approve", "replan", "summarize", "done"]  # done: the replanner wrote the answer
# Where the turn's plan came from: the caller's input, the planner model, the rules after the planner failed,
# the plan library, a person's edit at approval, or the fast path (one side-effecting call awaiting approval).
PlanSource = Literal["input", "planner", "rules", "library", "edited", "fast_path"]

ADDITIVE_METRICS = ("llm_calls", "tool_calls", "replans", "repairs", "input_tokens", "output_tokens", "total_tokens")


class StepResult(TypedDict):
    """What one plan step produced."""

    status: StepStatus
    output: Any
    error: str | None
    attempts: int
    duration_ms: int
    tool: NotRequired[str]
    retryable: NotRequired[bool]
    iterations: NotRequired[int]


def by_step_id(mapping: Mapping[Any, V] | None) -> dict[int, V]:
    """`mapping` keyed by int step ids (keys arrive as strings from JSON clients)."""
    return {int(k): v for k, v in (mapping or {}).items()}


def skipped_result(reason: str, tool: str) -> StepResult:
    """The result of a step that will not run, and why."""
    return {"status": "skipped", "output": None, "error": reason, "attempts": 0, "duration_ms": 0, "tool": tool}


def merge_step_results(left: Mapping[Any, V] | None, right: Mapping[Any, V] | None) -> dict[int, V]:
    """Merge per-step updates from parallel tasks; keys are normalised to int step ids."""
    return {**by_step_id(left), **by_step_id(right)}


def merge_metrics(left: dict | None, right: dict | None) -> dict[str, Any]:
    """Counters add up across parallel tasks, lists (fallbacks) concatenate; other keys are merged or replaced."""
    merged = dict(left or {})
    for key, value in (right or {}).items():
        if key in ADDITIVE_METRICS and isinstance(value, int | float):
            merged[key] = merged.get(key, 0) + value
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        elif isinstance(value, list) and isinstance(merged.get(key), list):  # e.g. "fallbacks" from several nodes
            merged[key] = [*merged[key], *value]
        else:
            merged[key] = value
    return merged


def append_list(left: list | None, right: list | None) -> list:
    return [*(left or []), *(right or [])]


class InputState(TypedDict, total=False):
    """What a caller sends: messages, and optionally a ready-made plan to run as is."""

    messages: Annotated[list[AnyMessage], add_messages]
    plan: dict[str, Any] | None


class OutputState(TypedDict, total=False):
    """The public contract (DESIGN.md): what `invoke` returns and the output schema Studio and chat UIs read.
    Internal channels (wave, plan_seen, step_budget_s, ...) stay in the state and out of this schema."""

    messages: Annotated[list[AnyMessage], add_messages]
    route: Route
    confidence: float
    route_reason: str
    plan: dict[str, Any] | None
    step_results: Annotated[dict[int, StepResult], merge_step_results]
    metrics: Annotated[dict[str, Any], merge_metrics]
    error: str | None


PUBLIC_KEYS = frozenset(OutputState.__annotations__)


class AgentState(TypedDict, total=False):
    """Everything a run keeps; every key is checkpointed."""

    messages: Annotated[list[AnyMessage], add_messages]
    request: str
    route: Route
    domain: str
    confidence: float
    route_reason: str
    plan: dict[str, Any] | None
    plan_source: PlanSource | None
    plan_history: Annotated[list[dict[str, Any]], append_list]
    step_results: Annotated[dict[int, StepResult], merge_step_results]
    approvals: Annotated[dict[int, dict[str, Any]], merge_step_results]
    wave: list[int]
    next_action: NextAction
    handled_failures: list[int]
    replans: int
    halted: str | None
    started_at: float
    plan_elapsed_ms: int
    step_budget_s: float
    plan_seen: str | None
    notices: list[str]
    approval_policy: dict[str, Any]
    plan_baseline: int | None  # steps in the plan as approved; later ones were added by the replanner
    plan_approved: bool
    chat_decision: Any  # an approval answer typed into the chat while the thread waited
    metrics: Annotated[dict[str, Any], merge_metrics]
    error: str | None


class StepTask(TypedDict):
    """The payload `dispatch` sends to one `run_step` task."""

    step: dict[str, Any]
    results: dict[int, dict[str, Any]]  # the results this step may reference, as it sees them (fallbacks applied)
    plan_id: str
    deadline: float
    board: NotRequired[str]  # the wave's board in the dispatching process (plangate.graph.engine.board)
    ready: NotRequired[bool]  # its prerequisites had settled at dispatch (else it waits on the board)
