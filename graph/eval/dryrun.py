"""Dry-run copies of tools: same names, schemas and metadata, but they only report the call.

`plangate eval` scores what the gate and the planner decide, so nothing is switched, sent or stored:
each tool returns `{"message": "[dry run] ...", "dry_run": True, "tool": ..., "args": ...}`. Tools that
only reason (the `llm` domain) stay real, because their model calls are part of the cost being measured.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool

KEEP_REAL = frozenset({"llm"})


def _dry(tool: BaseTool, domain: str) -> BaseTool:
    name = f"{domain}.{tool.name}"

    def call(**args: Any) -> dict[str, Any]:
        shown = json.dumps(args, ensure_ascii=False, default=str)
        return {"message": f"[dry run] {name}({shown})", "dry_run": True, "tool": name, "args": json.loads(shown)}

    return StructuredTool.from_function(
        func=call, name=tool.name, description=tool.description, args_schema=tool.args_schema,
        metadata=dict(tool.metadata or {}),
    )


def dry_run_tools(tools: Mapping[str, Iterable[BaseTool]]) -> dict[str, list[BaseTool]]:
    """`tools` by domain, each replaced by its dry-run copy (reasoning domains stay real: pass them to build_graph
    as built-ins, `include_builtin_tools=KEEP_REAL`, so they get the graph's models)."""
    return {domain: [t if domain in KEEP_REAL else _dry(t, domain) for t in items] for domain, items in tools.items()}
