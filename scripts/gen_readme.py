"""Regenerate the generated blocks of README.md from the code: graph diagram, Context table, tools table.

    .venv/bin/python scripts/gen_readme.py          # rewrite README.md in place
    .venv/bin/python scripts/gen_readme.py --check  # exit 1 if README.md is out of date (used by the tests)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def graph_diagram() -> str:
    from plangate import build_graph

    return "```mermaid\n" + build_graph().get_graph().draw_mermaid().strip() + "\n```"


def config_table() -> str:
    from plangate.graph.context import Context

    rows = ["| field | env var | default | meaning |", "|---|---|---|---|"]
    for row in Context.describe():
        default = repr(row["default"]) if row["default"] != "" else '`""`'
        rows.append(f"| `{row['name']}` | `{row['env']}` | {default} | {row['description']} |")
    return "\n".join(rows)


def tools_table() -> str:
    from plangate.tools.registry import build_registry

    registry = build_registry()
    rows = ["| tool | side effects | what it does |", "|---|---|---|"]
    for name in registry.names():
        tool = registry.get(name)
        effect = "yes" if registry.has_side_effects(name) else ""
        rows.append(f"| `{name}` | {effect} | {tool.description.strip().splitlines()[0]} |")
    return "\n".join(rows)


BLOCKS = {"graph-diagram": graph_diagram, "config-table": config_table, "tools-table": tools_table}


def render(text: str) -> str:
    for name, make in BLOCKS.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no '<!-- BEGIN {name} -->' block")
        text = pattern.sub(lambda m, make=make: m.group(1) + make() + "\n" + m.group(2), text)
    return text


def main() -> int:
    current = README.read_text()
    fresh = render(current)
    if "--check" in sys.argv:
        if fresh != current:
            print("README.md is out of date: run .venv/bin/python scripts/gen_readme.py")
            return 1
        return 0
    README.write_text(fresh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
