"""A bare LangGraph graph with the same supersteps (and tasks per superstep) as a plangate run.

`schedule_of` reads a finished plangate thread's checkpoint history: one entry per superstep,
("fan", n) for a wave of n `run_step` tasks and ("tick", 1) for any other node. `build_bare`
compiles trivial nodes in that shape, so the difference in time is plangate's own work.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Send
from typing_extensions import TypedDict

Schedule = list[tuple[str, int]]
FAN_NODES = ("run_step", "fan")  # plangate's per-step task, and the bare graph's


class BareState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    pos: int
    hits: Annotated[int, operator.add]


def schedule_of(graph: Any, config: dict[str, Any]) -> Schedule:
    """Supersteps of the run on `config`'s thread (the input checkpoint excluded)."""
    steps: Schedule = []
    for snap in reversed(list(graph.get_state_history(config))):
        if snap.tasks and snap.metadata and snap.metadata.get("step", 0) >= 0:
            names = [t.name for t in snap.tasks]
            steps.append(("fan" if names[0] in FAN_NODES else "tick", len(names)))
    return steps


def build_bare(schedule: Schedule, *, checkpointer: Any = None) -> CompiledStateGraph:
    if not schedule or schedule[0][0] != "tick":
        raise ValueError(f"a schedule starts with a single node, got {schedule[:1]}")
    after: list[tuple[str, int] | None] = []  # what follows the k-th tick
    for i, (kind, _) in enumerate(schedule):
        nxt = schedule[i + 1] if i + 1 < len(schedule) else None
        if kind == "fan" and (nxt is None or nxt[0] != "tick"):
            raise ValueError("every fan-out superstep must be followed by a single node, as plangate's dispatch is")
        if kind == "tick":
            after.append(nxt)

    def tick(state: BareState) -> BareState:
        return {"pos": state.get("pos", 0) + 1}

    def fan(payload: dict[str, Any]) -> BareState:
        return {"hits": 1}

    def route(state: BareState) -> Any:
        nxt = after[state["pos"] - 1]
        if nxt is None:
            return END
        kind, n = nxt
        return "tick" if kind == "tick" else [Send("fan", {"i": j}) for j in range(n)]

    builder = StateGraph(BareState)
    builder.add_node("tick", tick)
    builder.add_node("fan", fan)
    builder.add_edge(START, "tick")
    builder.add_conditional_edges("tick", route, ["tick", "fan", END])
    builder.add_edge("fan", "tick")
    return builder.compile(checkpointer=checkpointer, name="bare")
