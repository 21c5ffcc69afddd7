"""Issue 16, requirement 3: a step starts as soon as its prerequisites have settled, not when a superstep's
slowest step ends, and still at most `max_parallel_steps` steps run at once."""

import threading
import time

from langchain_core.tools import tool

from plangate.graph.context import Context
from plangate.tools.metadata import describe_tool
from tests import scripted
from tests.helpers import config, user


class Clock:
    """A `test.work` tool that records when each call starts and ends, and how many run at once."""

    def __init__(self) -> None:
        self.spans: dict[str, tuple[float, float]] = {}
        self.running = self.most = 0
        lock = threading.Lock()
        clock = self

        @tool("work")
        def work(name: str, seconds: float) -> dict:
            """Work on `name` for `seconds`."""
            with lock:
                clock.running += 1
                clock.most = max(clock.most, clock.running)
            started = time.monotonic()
            time.sleep(seconds)
            with lock:
                clock.running -= 1
            clock.spans[name] = (started, time.monotonic())
            return {"message": f"{name} done", "value": name}

        self.tools = [describe_tool(work, keywords=["work"])]


def work(i, name, seconds, **extra):
    return {"id": i, "tool": "test.work", "args": {"name": name, "seconds": seconds}, **extra}


async def run(runner, steps, ctx=None):
    clock = Clock()
    models = {"weak": scripted.ScriptedChatModel(default=scripted.route("plan", "test", 0.99)),
              "strong": scripted.ScriptedChatModel(replies=[scripted.plan(steps)]),
              "default": scripted.ScriptedChatModel(default="summary")}
    runner.build(models=models, tools={"test": clock.tools})
    out = await runner.run(user("do the work"), config(), context=ctx or Context(router_mode="llm"))
    return out, clock


async def test_a_step_starts_when_its_own_prerequisite_settles_not_the_slowest_step(runner):
    # a deep report (slow) and a quick fact, then a search on the fact: the search must not wait for the report
    steps = [work(1, "report", 0.8), work(2, "fact", 0.05), work(3, "search {{step_2.value}}", 0.05, depends_on=[2])]
    out, clock = await run(runner, steps)
    assert {r["status"] for r in out["step_results"].values()} == {"completed"}
    report_end = clock.spans["report"][1]
    search_start, search_end = clock.spans["search fact"]
    assert search_end < report_end  # it ran while the slow step was still running
    assert search_start >= clock.spans["fact"][1]  # and only after its own prerequisite


async def test_at_most_max_parallel_steps_run_at_once(runner):
    steps = [work(i, f"w{i}", 0.15) for i in range(1, 6)]
    out, clock = await run(runner, steps, ctx=Context(router_mode="llm", max_parallel_steps=2))
    assert clock.most == 2 and len(clock.spans) == 5
    assert {r["status"] for r in out["step_results"].values()} == {"completed"}


async def test_a_freed_slot_goes_to_the_next_step_at_once(runner):
    # cap 4, five independent steps: the fifth starts when the first one ends, not when the slowest of four does
    steps = [work(1, "quick", 0.05), *[work(i, f"slow{i}", 0.6) for i in range(2, 5)], work(5, "fifth", 0.05)]
    _, clock = await run(runner, steps, ctx=Context(router_mode="llm", max_parallel_steps=4))
    assert clock.spans["fifth"][1] < min(clock.spans[f"slow{i}"][1] for i in range(2, 5))


def test_a_dependent_starts_only_once_its_prerequisites_result_is_saved():
    from langgraph.checkpoint.memory import InMemorySaver

    from tests.helpers import make_graph

    saved_at: dict[int, float] = {}

    class SlowSaver(InMemorySaver):
        """Saves each step result 0.3 s late, as a loaded database might."""

        def put_writes(self, config, writes, task_id, task_path=""):
            steps = [int(k) for c, v in writes if c == "step_results" and isinstance(v, dict)
                     for k, r in v.items() if r.get("status") == "completed"]
            if steps:
                time.sleep(0.3)
            result = super().put_writes(config, writes, task_id, task_path)
            for step in steps:
                saved_at[step] = time.monotonic()
            return result

    clock = Clock()
    app = make_graph(tools={"test": clock.tools}, checkpointer=SlowSaver(), include_builtin_tools=False)
    plan = {"steps": [work(1, "first", 0.0), work(2, "second", 0.0, depends_on=[1])]}
    out = app.invoke({"messages": [{"role": "user", "content": "go"}], "plan": plan}, config())
    assert {r["status"] for r in out["step_results"].values()} == {"completed"}
    assert clock.spans["second"][0] >= saved_at[1]  # step 2 began after step 1's result was saved
