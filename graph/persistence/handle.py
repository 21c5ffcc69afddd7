"""An open database as the graph sees it: a checkpointer and a store, and how to close an async store."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any


@dataclass
class Persistence:
    """A checkpointer and a store on one database; `where` names it (without secrets)."""

    checkpointer: Any
    store: Any
    where: str
    kind: str = "sqlite"


async def stop_batch_task(store: Any) -> None:
    """Stop the async store's background batching task, so closing leaves no pending task behind."""
    task = getattr(store, "_task", None)  # AsyncBatchedBaseStore keeps it private; absent elsewhere
    if isinstance(task, asyncio.Task) and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
