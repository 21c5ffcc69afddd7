"""The share of the benchmark's simple/complex mix that the cascade's rules decide without a model.

The cascade asks a model only when the rules are unsure (confidence below `fast_threshold`), so this is
the share of requests that cost no routing call. It comes from the rules alone, with the bench's tools,
so it needs no run: `python -m bench.gate_share` prints it, and summary.md reports it as a target.
"""

from __future__ import annotations

import json
from typing import Any

from bench.tasks import SUITE, Task
from bench.tools import make_tools
from plangate.graph.offline import rules
from plangate.tools.registry import build_registry

TARGET = 0.70


def rules_decided(tasks: tuple[Task, ...] = SUITE, fast_threshold: float = 0.95) -> dict[str, Any]:
    """{share, decided, total, by_class, unsure: [(task id, reasoning)]} for the cascade's first stage."""
    registry = build_registry(make_tools(0.0), include_builtin_tools=False)
    decided, unsure, by_class = 0, [], {}
    for task in tasks:
        decision = rules.decide_route(task.request, registry)
        sure = decision.confidence >= fast_threshold
        decided += sure
        mine = by_class.setdefault("simple" if task.simple else "complex", [0, 0])
        mine[0] += sure
        mine[1] += 1
        if not sure:
            unsure.append((task.id, decision.reasoning))
    return {"share": decided / len(tasks), "decided": decided, "total": len(tasks),
            "by_class": {cls: {"decided": d, "total": n} for cls, (d, n) in by_class.items()}, "unsure": unsure}


def target_row() -> list[str]:
    found = rules_decided()
    classes = ", ".join(f"{c} {v['decided']}/{v['total']}" for c, v in found["by_class"].items())
    return [f"cascade: rules decide > {TARGET:.0%} of the simple/complex mix (no routing call)",
            f"{found['decided']}/{found['total']} = {found['share']:.0%} ({classes})",
            "✅" if found["share"] > TARGET else "❌"]


if __name__ == "__main__":
    print(json.dumps(rules_decided(), indent=2))
