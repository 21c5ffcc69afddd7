"""A task: one thing a request asks for, as the grammar reads it, and how a tool task gets its arguments."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from plangate.graph.offline import matching
from plangate.tools.registry import ToolRegistry

TOOL, REASONING, SMALLTALK, OUT_OF_SCOPE, UNKNOWN = "tool", "reasoning", "smalltalk", "out_of_scope", "unknown"
INHERITABLE = ("place", "device", "device_state", "date")  # what an ellipsis or "it" takes from the task before


@dataclass
class Task:
    """One thing the request asks for."""

    text: str
    kind: str
    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    sequential: bool = False  # waits for the tasks before it ("then")
    condition: dict[str, Any] | None = None  # {"on": task index, "op", "value", "field"}
    condition_text: str = ""
    problem: str | None = None  # why the rules cannot do it as asked
    lookup: bool = False  # added to test a condition or to answer a reasoning question
    derived: bool = False  # a reasoning question found inside a tool clause
    ellipsis: bool = False  # its verb came from the clause before ("and another for 20 minutes")
    ambiguous: bool = False  # only keywords of several domains named it ("cancel it")
    refers: bool = False  # its free text is the result of the task before ("send a summary")

    @property
    def domain(self) -> str | None:
        return self.tool.split(".", 1)[0] if self.tool else None

    @property
    def actionable(self) -> bool:
        return self.kind in (TOOL, REASONING) and self.problem is None


def previous_tool(tasks: list[Task], domain: str | None = None) -> Task | None:
    for task in reversed(tasks):
        if task.kind == TOOL and task.tool and not task.derived and (domain is None or task.domain == domain):
            return task
    return None


def tool_task(text: str, tool: str, registry: ToolRegistry, now: datetime, tasks: list[Task]) -> Task:
    """A task for `tool`, its arguments from `text`. What it lacks comes from the task before: a place or device
    ("lock it", "what about tomorrow"), and for the same tool a state or date ("the living room lights too")."""
    args = matching.extract_args(text, tool, registry, now)
    kinds = matching.slot_kinds(registry, tool)
    before = previous_tool(tasks, tool.split(".")[0]) or previous_tool(tasks)
    if before is not None:
        theirs = matching.slot_kinds(registry, before.tool or "")
        for arg, kind in kinds.items():
            source = next((a for a, k in theirs.items() if k == kind), None)
            same_tool = before.tool == tool and kind in INHERITABLE
            if (kind in ("place", "device") or same_tool) and arg not in args and source in before.args:
                args[arg] = before.args[source]
    return Task(text, TOOL, tool, args)
