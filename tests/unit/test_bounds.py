"""Issue 13, rows 8 and 10: a loop step's total output is capped like one output, and the recursion limit comes
from the run's Context."""

import json

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool

from plangate.graph.context import Context
from plangate.graph.engine.step_runner import MAX_OUTPUT_CHARS
from plangate.tools.metadata import describe_tool
from tests.helpers import config, make_graph

BIG = 63_000


def big_tools(seen: list):
    @tool("big")
    def big(n: int, config: RunnableConfig) -> str:
        """Return 63 k characters."""
        seen.append(config.get("recursion_limit"))
        return "x" * BIG

    return {"test": [describe_tool(big, keywords=["big"])]}


def test_three_loop_steps_of_100_big_outputs_stay_within_the_output_cap():
    seen: list = []
    app = make_graph(tools=big_tools(seen), include_builtin_tools=False)
    steps = [{"id": i, "tool": "test.big", "args": {"n": i}, "type": "loop", "loop_count": 100} for i in (1, 2, 3)]
    out = app.invoke({"messages": [{"role": "user", "content": "go"}], "plan": {"steps": steps}}, config())
    assert len(seen) == 300  # every iteration ran
    for i in (1, 2, 3):
        result = out["step_results"][i]
        assert result["status"] == "completed" and result["iterations"] == 100
        size = len(json.dumps(result["output"]))
        assert size <= MAX_OUTPUT_CHARS + 500, f"step {i} holds {size} characters"
        assert result["output"][-1]["truncated"] is True and result["output"][-1]["dropped"] == 99
    assert len(json.dumps(out["step_results"])) < 3 * (MAX_OUTPUT_CHARS + 1000)  # not 3 x 6.3 MB


def test_a_200_step_chain_finishes_under_the_runs_own_context():
    seen: list = []
    app = make_graph(tools=big_tools(seen), include_builtin_tools=False)
    steps = [{"id": 1, "tool": "test.big", "args": {"n": 1}}]
    steps += [{"id": i, "tool": "test.big", "args": {"n": i}, "depends_on": [i - 1]} for i in range(2, 201)]
    ctx = Context(max_plan_steps=200, max_replans=0)
    out = app.invoke({"messages": [{"role": "user", "content": "run it"}], "plan": {"steps": steps}}, config(), context=ctx)
    assert [out["step_results"][i]["status"] for i in range(1, 201)] == ["completed"] * 200
    assert set(seen) == {ctx.recursion_limit()} and ctx.recursion_limit() > Context().recursion_limit()


def test_a_callers_own_recursion_limit_wins():
    seen: list = []
    app = make_graph(tools=big_tools(seen), include_builtin_tools=False)
    plan = {"steps": [{"id": 1, "tool": "test.big", "args": {"n": 1}}]}
    app.invoke({"messages": [{"role": "user", "content": "go"}], "plan": plan}, config(recursion_limit=99),
               context=Context(max_plan_steps=200))
    assert seen == [99]
