"""Issue 16, item 3: which LangGraph mechanism runs a plan's steps without wave barriers, measured on bare graphs.

Three executors run the same DAGs (sleeps stand in for tools), async, on InMemorySaver and SqliteSaver:
- `bsp`: one `Send` per ready step, a dispatch node between supersteps (plangate before issue 16);
- `send_all`: one `Send` per step of the whole wave, each waiting in-process for its prerequisites (plangate now);
- `tasks`: `@task`s called inside one executor node, each started when its prerequisites finish, awaited as they
  complete (`asyncio.wait(FIRST_COMPLETED)`).
Each finished step's result is saved in all three (a task's writes / a `@task`'s return). Reported: median wall time
per request with uneven step latencies (b01's shape), and with zero latency on a 6-step chain and a 6-step fan
(the framework's own cost), plus how many checkpoint writes each makes.

    .venv/bin/python -m bench.executor_choice     # writes bench/results/executor_choice.json
"""

from __future__ import annotations

import asyncio
import json
import operator
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Annotated, Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.func import task
from langgraph.graph import END, START, StateGraph
from langgraph.types import Send
from typing_extensions import TypedDict

from bench.config import RESULTS

# DAGs: {step: (seconds, prerequisites)}; uneven is b01's shape (deep report 0.9 s, quick fact 0.1 s, then two more)
UNEVEN = {1: (0.9, ()), 2: (0.1, ()), 3: (0.3, (2,)), 4: (0.3, (3,))}
CHAIN = {i: (0.0, (i - 1,) if i > 1 else ()) for i in range(1, 7)}
FAN = {i: (0.0, ()) for i in range(1, 7)}


def _merge(left: dict | None, right: dict | None) -> dict:
    return {**(left or {}), **(right or {})}


class State(TypedDict, total=False):
    dag: dict[int, Any]
    done: Annotated[dict[int, str], _merge]
    writes: Annotated[list[int], operator.add]


async def _work(step: int, seconds: float) -> str:
    if seconds:
        await asyncio.sleep(seconds)
    return f"step {step} done"


def _dag(state: State) -> dict[int, tuple[float, tuple[int, ...]]]:
    return {int(k): (v[0], tuple(v[1])) for k, v in state["dag"].items()}


async def _dispatch(state: State) -> dict:
    return {}


def _dispatch_loop(route: Any, step: Any, saver: Any) -> Any:
    """dispatch -> route (Send per step, or END) -> step -> dispatch: the wiring both Send variants share."""
    graph = StateGraph(State)
    graph.add_node("dispatch", _dispatch)
    graph.add_node("step", step)
    graph.add_edge(START, "dispatch")
    graph.add_conditional_edges("dispatch", route, ["step", END])
    graph.add_edge("step", "dispatch")
    return graph.compile(checkpointer=saver)


# bsp: dispatch -> Send(ready) -> dispatch ...
def build_bsp(saver: Any) -> Any:
    def route(state: State) -> Any:
        dag, done = _dag(state), state.get("done") or {}
        ready = [s for s, (_, pre) in dag.items() if s not in done and all(p in done for p in pre)]
        return [Send("step", {"step": s, "seconds": dag[s][0]}) for s in ready] or END

    async def step(payload: dict) -> dict:
        return {"done": {payload["step"]: await _work(payload["step"], payload["seconds"])}}

    return _dispatch_loop(route, step, saver)


# send_all: every step sent at once; each waits for its prerequisites on an in-process board
_BOARDS: dict[str, dict[int, asyncio.Event]] = {}


def build_send_all(saver: Any) -> Any:
    def route(state: State) -> Any:
        dag, done = _dag(state), state.get("done") or {}
        todo = [s for s in dag if s not in done]
        if not todo:
            return END
        key = uuid.uuid4().hex
        _BOARDS[key] = {s: asyncio.Event() for s in todo}
        return [Send("step", {"step": s, "seconds": dag[s][0], "pre": list(dag[s][1]), "board": key}) for s in todo]

    async def step(payload: dict) -> dict:
        board = _BOARDS[payload["board"]]
        for p in payload["pre"]:
            if p in board:
                await board[p].wait()
        result = await _work(payload["step"], payload["seconds"])
        board[payload["step"]].set()
        return {"done": {payload["step"]: result}}

    return _dispatch_loop(route, step, saver)


# tasks: one executor node; @task per step, started when its prerequisites finish
@task(name="run_step")
async def _step_task(step: int, seconds: float) -> str:
    return await _work(step, seconds)


def build_tasks(saver: Any) -> Any:
    async def executor(state: State) -> dict:
        dag = _dag(state)
        done: dict[int, str] = {}
        running: dict[asyncio.Future, int] = {}

        def launch() -> None:
            for s, (seconds, pre) in sorted(dag.items()):
                if s not in done and s not in running.values() and all(p in done for p in pre):
                    running[asyncio.ensure_future(_step_task(s, seconds))] = s

        launch()
        while running:
            finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for future in finished:
                done[running.pop(future)] = future.result()
            launch()
        return {"done": done}

    graph = StateGraph(State)
    graph.add_node("executor", executor)
    graph.add_edge(START, "executor")
    graph.add_edge("executor", END)
    return graph.compile(checkpointer=saver)


BUILDERS = {"bsp": build_bsp, "send_all": build_send_all, "tasks": build_tasks}


class CountingSaver(InMemorySaver):
    """InMemorySaver that counts checkpoint puts and put_writes calls."""

    def __init__(self) -> None:
        super().__init__()
        self.n_puts = self.n_writes = 0

    async def aput(self, *args: Any, **kwargs: Any) -> Any:
        self.n_puts += 1
        return await super().aput(*args, **kwargs)

    async def aput_writes(self, *args: Any, **kwargs: Any) -> Any:
        self.n_writes += 1
        return await super().aput_writes(*args, **kwargs)


async def _time(app: Any, dag: dict, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        await app.ainvoke({"dag": {k: list(v) for k, v in dag.items()}},
                          {"configurable": {"thread_id": uuid.uuid4().hex}}, durability="sync")
        out.append(time.perf_counter() - started)
    return out


async def run(runs: int = 15) -> dict[str, Any]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in BUILDERS.items():
            counting = CountingSaver()
            await _time(build(counting), CHAIN, 1)
            ops = {"puts": counting.n_puts, "put_writes": counting.n_writes}
            for saver_name in ("memory", "sqlite"):
                async with AsyncSqliteSaver.from_conn_string(str(Path(tmp) / f"{name}.sqlite")) as sqlite:
                    app = build(InMemorySaver() if saver_name == "memory" else sqlite)
                    for dag_name, dag in (("uneven (b01 shape)", UNEVEN), ("chain of 6, zero latency", CHAIN),
                                          ("fan of 6, zero latency", FAN)):
                        times = await _time(app, dag, 5 if dag is UNEVEN else runs)
                        rows.append({"executor": name, "saver": saver_name, "dag": dag_name,
                                     "median_ms": statistics.median(times) * 1000, "checkpoint_ops_chain6": ops})
    return {"rows": rows, "critical_path_uneven_s": 0.7}


def table(data: dict[str, Any]) -> list[str]:
    lines = ["| executor | saver | DAG | median ms | checkpoint puts / put_writes (chain of 6) |", "|---|---|---|---|---|"]
    for r in data["rows"]:
        ops = r["checkpoint_ops_chain6"]
        lines.append(f"| {r['executor']} | {r['saver']} | {r['dag']} | {r['median_ms']:.1f} | {ops['puts']} / {ops['put_writes']} |")
    return lines


def main() -> None:
    data = asyncio.run(run())
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "executor_choice.json").write_text(json.dumps(data, indent=1))
    print("\n".join(table(data)))


if __name__ == "__main__":
    main()
