"""A separate process for the kill-and-resume tests: start a plan on a thread, or resume that thread.

    python -m tests.integration.plan_worker DB THREAD start TAG   # runs until killed (a slow step)
    python -m tests.integration.plan_worker DB THREAD resume      # continues the thread to the end

DB is a SQLite path or a postgresql:// URL. `start` runs async (AsyncPostgresSaver / AsyncSqliteSaver),
`resume` runs sync, so a thread written by one saver flavour is finished by the other.
Side effects go to PLANGATE_TEST_SIDE_EFFECTS (see served_graph.py).
"""

from __future__ import annotations

import asyncio
import json
import sys

from plangate import Context, build_graph
from plangate.graph.persistence.savers import open_async_persistence, open_persistence
from tests.integration.served_graph import TEST_TOOLS


def parallel_plan(tag: str, seconds: float = 5) -> dict:
    """Steps 1 and 2 share a superstep; 3 needs both. Kill while 2 sleeps and 1 has finished."""
    return {"goal": f"crash test {tag}", "steps": [
        {"id": 1, "tool": "test.echo", "args": {"text": f"first-{tag}"}},
        {"id": 2, "tool": "test.slow", "args": {"seconds": seconds, "label": f"long-{tag}"}},
        {"id": 3, "tool": "test.echo", "args": {"text": f"after-{tag}"}, "depends_on": [1, 2]},
    ]}


async def start(db: str, thread: str, tag: str) -> None:
    async with open_async_persistence(db) as persistence:
        app = build_graph(checkpointer=persistence.checkpointer, store=persistence.store, tools=TEST_TOOLS)
        payload = {"messages": [{"role": "user", "content": "run the crash test"}], "plan": parallel_plan(tag)}
        await app.ainvoke(payload, {"configurable": {"thread_id": thread}}, context=Context(step_timeout_s=120))


def resume(db: str, thread: str) -> None:
    with open_persistence(db) as persistence:
        app = build_graph(checkpointer=persistence.checkpointer, store=persistence.store, tools=TEST_TOOLS)
        config = {"configurable": {"thread_id": thread}}
        before = app.get_state(config)
        pending = sorted(t.name for t in before.tasks if t.result is None)
        done = app.invoke(None, config, context=Context(step_timeout_s=120))
        print(json.dumps({"pending_before": pending, "answer": done["messages"][-1].content,
                          "statuses": {str(k): v["status"] for k, v in done["step_results"].items()}}))


if __name__ == "__main__":
    db, thread, mode = sys.argv[1:4]
    if mode == "start":
        asyncio.run(start(db, thread, sys.argv[4]))
    else:
        resume(db, thread)
