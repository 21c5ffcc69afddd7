"""Every benchmarked system behind one interface, and one measured request.

`build(name, ...)` returns a `System`: plangate (router in llm or cascade mode) or a baseline, all
on `LatencyChatModel` and the bench tools. `measure` / `ameasure` run one task and return a
`Measurement` with latency, model calls, tokens, tool calls and whether the tool calls were right.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore

from bench.baselines.llm_compiler import build_llm_compiler
from bench.baselines.plan_execute import build_plan_execute
from bench.baselines.react import build_react
from bench.latency_model import LatencyChatModel, Run, active
from bench.tasks import Task
from bench.tools import flat, make_tools
from plangate import Context, build_graph
from plangate.graph.persistence.durable import ainvoke_durably, invoke_durably

SYSTEMS = ("plangate-cascade", "plangate-llm", "react", "plan-execute", "llm-compiler")
BASELINES = ("plan-execute", "react", "llm-compiler")
RECURSION = 400  # baselines' loops grow with plan size; 20-step chains need more than LangGraph's default 25


@dataclass
class System:
    name: str
    graph: Any
    make_input: Callable[[str], dict[str, Any]]
    answer_of: Callable[[dict[str, Any]], str]
    context: Any = None
    durable: bool = False  # run through plangate.graph.persistence.durable (request saved first, durability="sync"), as the CLI does

    def config(self) -> dict[str, Any]:
        return {"configurable": {"thread_id": uuid.uuid4().hex}, "recursion_limit": RECURSION}

    async def arun(self, request: str, config: dict[str, Any] | None = None) -> str:
        kwargs = {"context": self.context} if self.context is not None else {}
        invoke = partial(ainvoke_durably, self.graph) if self.durable else self.graph.ainvoke
        out = await invoke(self.make_input(request), config or self.config(), **kwargs)
        return self.answer_of(out)

    def run(self, request: str, config: dict[str, Any] | None = None) -> str:
        kwargs = {"context": self.context} if self.context is not None else {}
        invoke = partial(invoke_durably, self.graph) if self.durable else self.graph.invoke
        out = invoke(self.make_input(request), config or self.config(), **kwargs)
        return self.answer_of(out)


def _messages(request: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": request}]}


def _last(out: dict[str, Any]) -> str:
    return str(out["messages"][-1].content)


def plangate_context(mode: str, **overrides: Any) -> Context:
    """Context for a bench run. The plan library is off unless asked for: every request is planned cold,
    as the baselines plan it (`latency.warm_library` measures the library separately)."""
    return Context(**{"router_mode": mode, "plan_library": False, **overrides})


def build(name: str, *, model_s: float, tool_s: float, per_token_s: float = 0.0, checkpointer: Any = None,
          store: Any = None, context: dict[str, Any] | None = None) -> System:
    """A system on a fresh LatencyChatModel and fresh tools (InMemorySaver unless a checkpointer is given)."""
    model = LatencyChatModel(latency_s=model_s, per_token_s=per_token_s)
    tools = make_tools(tool_s)
    saver = checkpointer if checkpointer is not None else InMemorySaver()
    if name.startswith("plangate"):
        mode = name.split("-")[1]
        graph = build_graph(checkpointer=saver, store=store if store is not None else InMemoryStore(), tools=tools,
                            models={"weak": model, "default": model, "strong": model}, include_builtin_tools=False)
        return System(name, graph, _messages, _last, plangate_context(mode, **(context or {})))
    if name == "react":
        return System(name, build_react(model, flat(tools), checkpointer=saver), _messages, _last)
    if name == "plan-execute":
        return System(name, build_plan_execute(model, flat(tools), checkpointer=saver), lambda r: {"input": r},
                      lambda out: str(out.get("response", "")))
    if name == "llm-compiler":
        return System(name, build_llm_compiler(model, flat(tools), checkpointer=saver), _messages, _last)
    raise ValueError(f"unknown system {name!r}; choose from {', '.join(SYSTEMS)}")


@dataclass
class Measurement:
    system: str
    task: str
    cls: str
    steps: int
    latency_s: float
    model_calls: int
    input_tokens: int
    output_tokens: int
    tool_calls: int
    correct: bool
    answer: str
    kinds: dict[str, int] = field(default_factory=dict)
    model_cpu_s: float = 0.0
    error: str | None = None

    def row(self) -> dict[str, Any]:
        return asdict(self)


def _key(call: tuple[str, dict[str, Any]]) -> str:
    return json.dumps(call, sort_keys=True)


def _measurement(system: System, task: Task, run: Run, elapsed: float, answer: str, error: str | None) -> Measurement:
    correct = error is None and bool(answer) and Counter(map(_key, run.tool_log)) == Counter(map(_key, task.expected_calls()))
    conclusion = task.conclusion()
    correct = correct and (conclusion is None or conclusion in answer)  # a reasoning task's answer must conclude
    return Measurement(system.name, task.id, task.cls, len(task.steps), elapsed, run.model_calls, run.input_tokens,
                       run.output_tokens, len(run.tool_log), correct, answer[:300], dict(run.kinds), run.model_cpu_s, error)


async def ameasure(system: System, task: Task, config: dict[str, Any] | None = None) -> Measurement:
    """Run `task` once on `system` (async) and measure it."""
    with active(Run(task)) as run:
        started = time.perf_counter()
        answer, error = "", None
        try:
            answer = await system.arun(task.request, config)
        except Exception as exc:  # recorded, never fatal: errors are a result
            error = f"{type(exc).__name__}: {exc}"[:300]
        elapsed = time.perf_counter() - started
    return _measurement(system, task, run, elapsed, answer, error)


def measure(system: System, task: Task, config: dict[str, Any] | None = None) -> Measurement:
    """Run `task` once on `system` (sync) and measure it."""
    with active(Run(task)) as run:
        started = time.perf_counter()
        answer, error = "", None
        try:
            answer = system.run(task.request, config)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        elapsed = time.perf_counter() - started
    return _measurement(system, task, run, elapsed, answer, error)
