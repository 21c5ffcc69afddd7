"""Crash-safe runs: the request is saved before any node starts, and each superstep before the next one.

`graph.invoke(request, config)` saves its input checkpoint in the background while the router already runs; a
process killed in that window leaves a thread with nothing to resume. With LangGraph's default
`durability="async"`, the checkpoint after a superstep is also written while the next one runs, so a kill just
after a step finished can run that step again. These helpers close both windows: they write the input checkpoint
first (the same checkpoint `invoke` would write, through `update_state(..., as_node="__input__")`), then run from
it with `None` as input and `durability="sync"`. Steps of one superstep that finish while others still run are
kept by LangGraph's pending writes, saved as each step finishes. The CLI runs this way.

Both hold the thread's writer lock (`plangate.graph.persistence.thread_lock`) from the save to the end of the run,
so a second writer on the same thread waits for the first (or gets `ThreadBusy`) instead of forking the thread.
"""

from __future__ import annotations

from typing import Any

from plangate.graph.engine.plan import shallow_plan
from plangate.graph.persistence.thread_lock import athread_lock, thread_lock

# LangGraph's name for "the caller's input" in update_state: the checkpoint written is source="input", step -1,
# exactly what invoke() writes. (langgraph.constants.INPUT holds it but is deprecated as private since 1.0.)
# Checked against langgraph 1.2.24; tests/unit/test_persistence.py compares the durable and plain histories,
# so a LangGraph release that renames it fails there, not in production.
INPUT = "__input__"
# Each superstep's checkpoint is written before the next superstep starts.
DURABILITY = "sync"
__all__ = ["DURABILITY", "save_request", "asave_request", "invoke_durably", "ainvoke_durably"]


def _savable(request: dict[str, Any]) -> dict[str, Any]:
    """An explicit plan nested too deep to serialize is cut where it is too deep (and then refused by validation
    with a clear error), so the request itself is always saved."""
    if isinstance(request, dict) and isinstance(request.get("plan"), dict):
        return {**request, "plan": shallow_plan(request["plan"])}
    return request


def save_request(app: Any, request: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Persist `request` as the thread's next input and return the new checkpoint's config."""
    return app.update_state(config, _savable(request), as_node=INPUT)


async def asave_request(app: Any, request: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Async `save_request`, for the async checkpointers."""
    return await app.aupdate_state(config, _savable(request), as_node=INPUT)


def invoke_durably(app: Any, request: dict[str, Any], config: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """`app.invoke(request, config, **kwargs)`, with the request saved first and `durability="sync"`, holding the thread."""
    with thread_lock(app.checkpointer, config):
        save_request(app, request, config)
        return app.invoke(None, config, **{"durability": DURABILITY, **kwargs})


async def ainvoke_durably(app: Any, request: dict[str, Any], config: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """`await app.ainvoke(request, config, **kwargs)`, with the request saved first and `durability="sync"`, holding the thread."""
    async with athread_lock(app.checkpointer, config):
        await asave_request(app, request, config)
        return await app.ainvoke(None, config, **{"durability": DURABILITY, **kwargs})
