"""Plan views: a Mermaid DAG with status colours, and a rich tree for terminals."""

from __future__ import annotations

from typing import Any

from rich.tree import Tree

from plangate.graph.engine.plan import ExecutionPlan

STATUS_STYLE = {"completed": "green", "failed": "red", "skipped": "yellow", "running": "cyan", "pending": "dim"}
STATUS_ICON = {"completed": "✓", "failed": "✗", "skipped": "↷", "running": "…", "pending": "·"}
_MERMAID_FILL = {
    "completed": "fill:#d4f7d4,stroke:#2e7d32",
    "failed": "fill:#fbd5d5,stroke:#c62828",
    "skipped": "fill:#fff3cd,stroke:#b58900",
    "running": "fill:#d6ecff,stroke:#1565c0",
    "pending": "fill:#eeeeee,stroke:#9e9e9e",
}


def _plan(plan: ExecutionPlan | dict[str, Any]) -> ExecutionPlan:
    return plan if isinstance(plan, ExecutionPlan) else ExecutionPlan.model_validate(plan)


def _status(results: dict | None, step_id: int) -> str:
    entry = (results or {}).get(step_id) or (results or {}).get(str(step_id))
    return entry["status"] if entry else "pending"


def _label(text: str) -> str:
    return text.replace('"', "'").replace("\n", " ")[:60]


def plan_to_mermaid(plan: ExecutionPlan | dict[str, Any], step_results: dict | None = None) -> str:
    """A Mermaid flowchart of the plan's DAG: one node per step, coloured by status."""
    plan = _plan(plan)
    lines = ["flowchart TD"]
    for step in plan.steps:
        status = _status(step_results, step.id)
        kind = f" [{step.type}]" if step.type != "normal" else ""
        lines.append(f'    s{step.id}["{step.id}. {step.tool}{kind}<br/>{_label(step.description)}<br/>{status}"]')
    for step in plan.steps:
        for dep in sorted(set(step.depends_on) | step.references()):
            lines.append(f"    s{dep} --> s{step.id}")
        if step.fallback_for is not None:
            lines.append(f"    s{step.fallback_for} -. fallback .-> s{step.id}")
        if step.condition is not None and step.condition.step != step.id:
            lines.append(f"    s{step.condition.step} -. {step.condition.op} .-> s{step.id}")
    for status, style in _MERMAID_FILL.items():
        lines.append(f"    classDef {status} {style}")
    for step in plan.steps:
        lines.append(f"    class s{step.id} {_status(step_results, step.id)}")
    return "\n".join(lines)


def plan_tree(plan: ExecutionPlan | dict[str, Any], step_results: dict | None = None) -> Tree:
    """A rich Tree: the goal, then each step with status, tool, args and dependencies."""
    plan = _plan(plan)
    tree = Tree(f"[bold]Plan v{plan.version}[/bold] {plan.goal}")
    for step in plan.steps:
        status = _status(step_results, step.id)
        deps = f" ← {', '.join(map(str, step.depends_on))}" if step.depends_on else ""
        kind = f" ({step.type})" if step.type != "normal" else ""
        node = tree.add(
            f"[{STATUS_STYLE[status]}]{STATUS_ICON[status]} {step.id}. {step.tool}{kind}[/] {step.description}{deps}"
        )
        if step.args:
            node.add(f"[dim]args: {step.args}[/dim]")
        entry = (step_results or {}).get(step.id) or (step_results or {}).get(str(step.id))
        if entry and entry.get("error"):
            node.add(f"[{STATUS_STYLE[status]}]{entry['error']}[/]")
    return tree
