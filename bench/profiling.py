"""pyinstrument profiles of plangate runs, summarized as "where the time goes".

Samples are charged to the innermost frame that belongs to plangate's code (graph/, nodes/, tools/),
LangGraph, or the bench's model simulation; library and stdlib frames below it count for it. So
"plangate" includes the pydantic and langchain-core work its nodes ask for, and "langgraph" the
runtime's own work (scheduling, channels, checkpoints).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

SIMULATION = {"latency_model.py", "policy.py", "tools.py", "tasks.py"}  # bench files that stand in for a model/tools
OWNERS = {"plangate": "plangate", "graph": "plangate", "nodes": "plangate", "tools": "plangate",
          "langgraph": "langgraph runtime", "aiosqlite": "checkpoint I/O", "sqlite3": "checkpoint I/O",
          "psycopg": "checkpoint I/O"}


def _owner(path: str) -> str | None:
    if "/site-packages/" in path:
        top = path.split("/site-packages/")[1].split("/")[0]
        return OWNERS.get(top)
    if "/lib/python3" in path and "/sqlite3/" in path:
        return "checkpoint I/O"
    root = Path(__file__).resolve().parent.parent
    if path.startswith(str(root)):
        parts = Path(path).relative_to(root).parts
        if parts[0] == "bench":
            return "bench model/tools simulation" if parts[-1] in SIMULATION else None
        return OWNERS.get(parts[0])
    return None


def summarize(root: Any, runs: int) -> dict[str, Any]:
    areas: Counter = Counter()
    functions: Counter = Counter()

    def walk(frame: Any, owner: str, plangate_fn: str | None) -> None:
        path = frame.file_path or ""
        mine = None if frame.is_synthetic else _owner(path)
        owner = mine or owner
        if mine == "plangate":
            plangate_fn = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
        if frame.is_synthetic_leaf or not frame.children:
            areas[owner] += frame.time
            if plangate_fn and owner == "plangate":
                functions[plangate_fn] += frame.time
        for child in frame.children:
            walk(child, owner, plangate_fn)

    walk(root, "event loop / other", None)
    return {"runs": runs, "ms_per_request": 1000 * root.time / runs,
            "areas_ms": {k: 1000 * v / runs for k, v in areas.most_common()},
            "plangate_functions_ms": {k: 1000 * v / runs for k, v in functions.most_common(12)}}


def profile_async(make: Callable[[], Awaitable[Any]], runs: int, out: Path, name: str) -> dict[str, Any]:
    """Profile `runs` sequential awaits of `make()`; write `<name>.txt` (kept) and `<name>.html` (git-ignored)."""
    from pyinstrument import Profiler

    async def many(n: int) -> None:
        for _ in range(n):
            await make()

    asyncio.run(many(2))  # warm caches and imports
    profiler = Profiler(interval=0.001, async_mode="disabled")
    profiler.start()
    asyncio.run(many(runs))
    profiler.stop()
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.txt").write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    (out / f"{name}.html").write_text(profiler.output_html())
    session = profiler.last_session
    assert session is not None
    return {**summarize(session.root_frame(), runs), "text": f"bench/results/{name}.txt"}
