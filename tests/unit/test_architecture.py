"""The layering DESIGN.md promises, read from the source: no import cycles, tools and the engine stay
below the nodes, the CLI and the server, and nothing imports LangGraph's or LangChain's private modules.

Every `import` counts, also one inside a function: an import moved into a function to dodge a cycle
still closes the cycle when that function runs. Only `if TYPE_CHECKING:` blocks are left out.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"plangate": ROOT / "plangate", "plangate.graph": ROOT / "graph", "plangate.nodes": ROOT / "nodes",
            "plangate.tools": ROOT / "tools"}


def _modules() -> dict[str, Path]:
    found = {}
    for prefix, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((prefix, *parts[:-1])) if parts[-1] == "__init__" else ".".join((prefix, *parts))
            found[name] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(tree: ast.AST, package: str) -> Iterator[str]:
    """Every module name an import statement in `tree` loads, outside `if TYPE_CHECKING:` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).rstrip(".")
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)
        stack.extend(ast.iter_child_nodes(node))


def _imports_of(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return set(_imported(ast.parse(path.read_text(), str(path)), package))


IMPORTS = {module: _imports_of(module) for module in MODULES}
EDGES = {module: {name for name in names if name in MODULES and name != module} for module, names in IMPORTS.items()}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_checker_sees_the_modules_and_their_imports():
    assert {"plangate.graph.graph", "plangate.nodes.executor", "plangate.tools.registry"} <= MODULES.keys()
    assert "plangate.nodes.executor" in EDGES["plangate.graph.graph"]


def test_the_checker_finds_a_cycle_and_reads_imports_inside_functions():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    tree = ast.parse("def f():\n    from plangate.graph import graph\nif TYPE_CHECKING:\n    import hidden\n")
    assert set(_imported(tree, "plangate.x")) == {"plangate.graph", "plangate.graph.graph"}


def test_there_are_no_import_cycles():
    assert _cycles(EDGES) == []


LAYERS = [
    ("plangate.tools.", ("plangate.nodes", "plangate.graph.cli", "plangate.graph.server", "plangate.graph.graph")),
    ("plangate.graph.engine.", ("plangate.nodes", "plangate.graph.cli", "plangate.graph.server", "plangate.graph.graph")),
    ("plangate.graph.models.", ("plangate.nodes", "plangate.graph.cli", "plangate.graph.server", "plangate.graph.graph")),
    ("plangate.graph.offline.", ("plangate.nodes", "plangate.graph.cli", "plangate.graph.server")),
    ("plangate.graph.persistence.", ("plangate.nodes", "plangate.graph.cli", "plangate.graph.server")),
    ("plangate.nodes.", ("plangate.graph.cli", "plangate.graph.server", "plangate.graph.graph")),
]


@pytest.mark.parametrize(("layer", "forbidden"), LAYERS, ids=[layer.rstrip(".") for layer, _ in LAYERS])
def test_lower_layers_never_import_higher_ones(layer: str, forbidden: tuple[str, ...]):
    broken = sorted(
        f"{module} imports {name}"
        for module, names in EDGES.items()
        if module.startswith(layer)
        for name in names
        if name.startswith(forbidden)
    )
    assert broken == []


def test_no_private_langgraph_or_langchain_modules():
    private = sorted(
        f"{module} imports {name}"
        for module, names in IMPORTS.items()
        for name in names
        if name.startswith(("langgraph", "langchain")) and any(part.startswith("_") for part in name.split("."))
    )
    assert private == []
