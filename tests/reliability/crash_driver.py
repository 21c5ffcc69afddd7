"""A plangate process to be killed: SQLite persistence, side-effect logging tools, scripted models, pause points.

    python -m tests.reliability.crash_driver run    --db F --log L --thread T --scenario full [--pause POINT]
    python -m tests.reliability.crash_driver resume --db F --log L --thread T --scenario full

Every tool appends `effect` lines to the log file (step key, tool, thread, pid); models and tools pass
named points (`model:PlanDraft`, `tool:s3:before`, ...). With `--pause POINT` the process writes
`<log>.paused` on reaching it and sleeps, so a test can SIGKILL it exactly there. `POINT@s1,s2` first waits
until s1 and s2 are saved as completed (some steps of a superstep done, others running); a leading `!`
marks the point without pausing (kill lands during what follows, e.g. a retry backoff). `--latency S`
adds a random delay up to S seconds to every model call and tool, for randomized kills. `--aio` runs
`ainvoke` on AsyncSqliteSaver instead of `invoke` on SqliteSaver.

Scenarios: `full` (router, planner, a 3-step parallel wave, a second wave, a flaky step, a failing step,
the replanner, a replacement step, the summarizer), `fast` (one fast-path tool call), `builtin` (the
offline rules model and the built-in timer tools, so `plangate resume` can finish the thread).
The final state is printed as one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool, StructuredTool, tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

from plangate import build_graph
from plangate.graph.context import Context
from plangate.graph.persistence.durable import DURABILITY, asave_request, save_request
from plangate.graph.persistence.savers import open_async_sqlite, open_sqlite
from plangate.graph.persistence.thread_lock import athread_lock, thread_lock
from plangate.tools.errors import RetryableToolError, ToolError
from plangate.tools.metadata import describe_tool
from tests.reliability.crashkit import persisted_completed

SCHEMAS = ("RouteDecision", "PlanDraft", "ReplanDecision")
FULL_PLAN = [
    {"id": 1, "tool": "test.effect", "args": {"key": "s1"}},
    {"id": 2, "tool": "test.effect", "args": {"key": "s2"}},
    {"id": 3, "tool": "test.effect", "args": {"key": "s3"}},
    {"id": 4, "tool": "test.effect", "args": {"key": "s4"}, "depends_on": [1, 2, 3]},
    {"id": 5, "tool": "test.flaky", "args": {"key": "s5", "fails": 1}, "depends_on": [4], "retries": 2},
    {"id": 6, "tool": "test.broken", "args": {"key": "s6"}, "depends_on": [4]},
]
REPLACEMENT = [{"id": 7, "tool": "test.effect", "args": {"key": "s7", "after": "{{step_4.key}}"}, "depends_on": [5]}]
BUILTIN_REQUEST = "set a tea timer for 3 minutes and set a pasta timer for 10 minutes and then list my timers"


class Hooks:
    """Pause points, random latency and the side-effect log of one driver process."""

    def __init__(self, log: str, db: str, thread: str, scenario: str, pause: str | None, latency: float,
                 seed: int) -> None:
        self.log, self.db, self.thread, self.scenario, self.latency = Path(log), Path(db), thread, scenario, latency
        self.pause = (pause or "").lstrip("!")
        self.no_pause = bool(pause and pause.startswith("!"))
        self.wait_for: list[str] = []
        if "@" in self.pause:
            self.pause, after = self.pause.split("@", 1)
            self.wait_for = [k for k in after.split(",") if k]
        self.seen: dict[str, int] = {}
        self.rng = random.Random(seed)

    def write(self, kind: str, key: str, detail: str = "") -> None:
        line = "\t".join([kind, self.thread, key, detail, str(os.getpid()), f"{time.time():.3f}"]) + "\n"
        with open(self.log, "a", encoding="utf-8") as handle:  # one short append per line: atomic enough
            handle.write(line)

    def lines(self, kind: str) -> list[list[str]]:
        if not self.log.exists():
            return []
        rows = [line.rstrip("\n").split("\t") for line in self.log.read_text(encoding="utf-8").splitlines()]
        return [r for r in rows if r[0] == kind and r[1] == self.thread]

    def reach(self, point: str) -> None:
        self.seen[point] = self.seen.get(point, 0) + 1
        self.write("reach", point)
        if self.latency:
            time.sleep(self.rng.uniform(0, self.latency))
        if not self.pause or self.pause not in (point, f"{point}#{self.seen[point]}"):
            return
        deadline = time.monotonic() + 30
        while self.wait_for and time.monotonic() < deadline:
            # the steps finished, and LangGraph saved their pending writes (it does so in the background)
            if set(self.wait_for) <= persisted_completed(self.db, self.thread, self.scenario):
                break
            time.sleep(0.02)
        Path(f"{self.log}.paused").write_text(point, encoding="utf-8")
        if not self.no_pause:
            time.sleep(600)


class HookedModel(BaseChatModel):
    """A chat model that passes a pause point per call and answers via `respond(kind, messages, kwargs)`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    hooks: Any = Field(exclude=True)
    respond: Any = Field(exclude=True)

    @property
    def _llm_type(self) -> str:
        return "crash-driver"

    def bind_tools(self, tools: Any, *, tool_choice: Any = None, **kwargs: Any) -> Runnable:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], tool_choice=tool_choice, **kwargs)

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        names = [t["function"]["name"] for t in kwargs.get("tools") or []]
        kind = names[0] if len(names) == 1 and names[0] in SCHEMAS else ("tools" if names else "summary")
        self.hooks.reach(f"model:{kind}")
        message = self.respond(kind, messages, kwargs)
        return ChatResult(generations=[ChatGeneration(message=message)])


def _call(name: str, args: dict[str, Any]) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call_{name}", "type": "tool_call"}])


def scripted_respond(scenario: str):
    def respond(kind: str, messages: list[BaseMessage], kwargs: dict[str, Any]) -> AIMessage:
        if kind == "RouteDecision":
            route = "fast" if scenario == "fast" else "plan"
            return _call(kind, {"route": route, "domain": "test", "confidence": 0.99, "reasoning": "driver"})
        if kind == "PlanDraft":
            return _call(kind, {"goal": "crash test", "reasoning": "driver", "steps": FULL_PLAN})
        if kind == "ReplanDecision":
            replanned = "test.effect" in str(messages[-1].content) and '"id": 7' in str(messages[-1].content)
            if replanned:
                return _call(kind, {"action": "finish", "reasoning": "driver", "steps": []})
            return _call(kind, {"action": "replan", "reasoning": "driver: replace the broken step", "steps": REPLACEMENT})
        if kind == "tools":
            return _call("test__effect", {"key": "fast"})
        return AIMessage(content=f"crash test finished ({len(messages)} messages seen)")

    return respond


def test_tools(hooks: Hooks) -> list[BaseTool]:
    @tool("effect")
    def effect(key: str, after: str = "") -> dict:
        """Do one side effect, logged with its key."""
        hooks.reach(f"tool:{key}:before")
        hooks.write("effect", key, "test.effect")
        hooks.reach(f"tool:{key}:after")
        return {"key": key, "message": f"did {key}"}

    @tool("flaky")
    def flaky(key: str, fails: int) -> dict:
        """Fail (retryably) the first `fails` attempts counted across processes, then do the effect."""
        hooks.write("attempt", key, "test.flaky")
        if len(hooks.lines("attempt")) <= fails:
            hooks.reach(f"tool:{key}:failed")
            raise RetryableToolError(f"{key}: transient failure")
        hooks.write("effect", key, "test.flaky")
        return {"key": key, "message": f"did {key}"}

    @tool("broken")
    def broken(key: str) -> dict:
        """Always fail permanently."""
        hooks.reach(f"tool:{key}:before")
        raise ToolError(f"{key}: permanent failure")

    return [describe_tool(t, keywords=[t.name]) for t in (effect, flaky, broken)]


def logged_timer_tools(hooks: Hooks) -> list[BaseTool]:
    """The built-in timer tools, wrapped to pass pause points and log effects (names and schemas unchanged)."""
    from plangate.tools import timer

    wrapped = []
    for original in timer.TOOLS:
        def run(_original: BaseTool = original, **kwargs: Any) -> Any:
            key = str(kwargs.get("label") or _original.name)
            hooks.reach(f"tool:{key}:before")
            result = _original.invoke(kwargs)
            if _original.name == "set_timer":
                hooks.write("effect", key, "timer.set_timer")
            hooks.reach(f"tool:{key}:after")
            return result

        clone = StructuredTool.from_function(func=run, name=original.name, description=original.description,
                                             args_schema=original.args_schema)
        clone.metadata = dict(original.metadata or {})
        wrapped.append(clone)
    return wrapped


def build(scenario: str, hooks: Hooks, persistence: Any) -> tuple[Any, Context, Any]:
    """(graph, context, input) for a scenario."""
    common = {"checkpointer": persistence.checkpointer, "store": persistence.store}
    if scenario == "builtin":
        from plangate.graph.offline.chat_model import OfflineRulesModel
        from plangate.tools.registry import build_registry

        offline = OfflineRulesModel(registry=build_registry())
        respond = lambda kind, messages, kwargs: offline._generate(messages, **kwargs).generations[0].message  # noqa: E731
        model = HookedModel(hooks=hooks, respond=respond)
        tools = {"timer": logged_timer_tools(hooks)}
        app = build_graph(**common, tools=tools, models={"default": model, "strong": model}, include_builtin_tools=False)
        # no answer template, so the summarizer's model call (a pause point) stays in the run
        return app, Context.from_env(answer_templates=False), {"messages": [{"role": "user", "content": BUILTIN_REQUEST}]}
    model = HookedModel(hooks=hooks, respond=scripted_respond(scenario))
    app = build_graph(**common, tools={"test": test_tools(hooks)}, models={t: model for t in ("weak", "default", "strong")},
                      include_builtin_tools=False)
    ctx = Context.from_env(router_mode="llm", plan_library=False, max_replans=1)
    return app, ctx, {"messages": [{"role": "user", "content": f"run the {scenario} crash scenario"}]}


def _run_sync(args: argparse.Namespace, hooks: Hooks) -> dict[str, Any]:
    with open_sqlite(args.db) as persistence:
        app, ctx, payload = build(args.scenario, hooks, persistence)
        config = {"configurable": {"thread_id": args.thread}, "recursion_limit": ctx.recursion_limit()}
        with thread_lock(app.checkpointer, config):  # one writer per thread, as invoke_durably and the CLI do
            if args.command == "run":
                save_request(app, payload, config)  # from here on the run is accepted: a kill leaves it resumable
            hooks.write("start", args.command, args.scenario)
            app.invoke(None, config, context=ctx, durability=DURABILITY)
            hooks.write("finish", args.command, args.scenario)
        return app.get_state(config).values


async def _run_async(args: argparse.Namespace, hooks: Hooks) -> dict[str, Any]:
    async with open_async_sqlite(args.db) as persistence:
        app, ctx, payload = build(args.scenario, hooks, persistence)
        config = {"configurable": {"thread_id": args.thread}, "recursion_limit": ctx.recursion_limit()}
        async with athread_lock(app.checkpointer, config):
            if args.command == "run":
                await asave_request(app, payload, config)
            hooks.write("start", args.command, args.scenario)
            await app.ainvoke(None, config, context=ctx, durability=DURABILITY)
            hooks.write("finish", args.command, args.scenario)
        return (await app.aget_state(config)).values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["run", "resume"])
    parser.add_argument("--db", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--thread", required=True)
    parser.add_argument("--scenario", choices=["full", "fast", "builtin"], default="full")
    parser.add_argument("--pause")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--aio", action="store_true", help="ainvoke with AsyncSqliteSaver instead of invoke")
    args = parser.parse_args(argv)
    hooks = Hooks(args.log, args.db, args.thread, args.scenario, args.pause, args.latency, args.seed)
    values = asyncio.run(_run_async(args, hooks)) if args.aio else _run_sync(args, hooks)
    results = {str(k): v["status"] for k, v in (values.get("step_results") or {}).items()}
    answer = values["messages"][-1].content if values.get("messages") else None
    print(json.dumps({"answer": answer, "statuses": results, "error": values.get("error"), "route": values.get("route")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
