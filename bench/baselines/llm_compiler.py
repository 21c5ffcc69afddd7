"""LLMCompiler-style agent (Kim et al. 2023; LangGraph's LLMCompiler tutorial).

`plan_and_schedule`: the planner emits a DAG of tool tasks (`$N` stands for task N's output) and a
task-fetching unit runs every task as soon as its dependencies finish, all inside this one node.
`join`: the joiner reads the observations and answers, or asks for a replan (bounded).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

PLANNER = """Given a user query, create a plan to solve it with the utmost parallelizability. Each task calls one
of these tools; write $N in an argument to use the output of task N, and list N in its dependencies.
Tools:
{tools}"""
JOINER = """Solve the question using the task observations above. If they are enough, give the final response;
otherwise ask for a replan with feedback."""
MAX_REPLANS = 1
_REF = re.compile(r"^\$\{?(\d+)\}?$")


class CompilerTask(BaseModel):
    idx: int
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    dependencies: list[int] = Field(default_factory=list)


class CompilerPlan(BaseModel):
    """The tasks to run, as a DAG."""

    tasks: list[CompilerTask]


class FinalResponse(BaseModel):
    response: str


class Replan(BaseModel):
    feedback: str


class JoinOutputs(BaseModel):
    """Decide the final answer or a replan."""

    thought: str
    action: FinalResponse | Replan


class CompilerState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    replans: int


def _value(output: Any) -> Any:
    return output.get("value", output) if isinstance(output, dict) else output


async def run_dag(tasks: list[CompilerTask], tools: dict[str, BaseTool]) -> list[ToolMessage]:
    """Run each task as soon as its dependencies are done; a failed dependency fails its dependents."""
    done = {t.idx: asyncio.Event() for t in tasks}
    outputs: dict[int, Any] = {}
    errors: dict[int, str] = {}

    async def run(task: CompilerTask) -> ToolMessage:
        for dep in task.dependencies:
            if dep in done:
                await done[dep].wait()
        try:
            failed = [d for d in task.dependencies if d in errors]
            if failed:
                raise RuntimeError(f"dependencies {failed} failed")
            args = {k: _value(outputs[int(m.group(1))]) if isinstance(v, str) and (m := _REF.match(v)) else v
                    for k, v in task.args.items()}
            outputs[task.idx] = await tools[task.tool].ainvoke(args)
            content = str(outputs[task.idx])
        except Exception as exc:  # the joiner reads the error
            errors[task.idx] = content = f"ERROR: {exc}"
        finally:
            done[task.idx].set()
        return ToolMessage(content=content, tool_call_id=f"task{task.idx}", name=task.tool)

    return list(await asyncio.gather(*(run(t) for t in tasks)))


def build_llm_compiler(model: BaseChatModel, tools: Sequence[BaseTool], *, checkpointer: Any = None) -> CompiledStateGraph:
    by_name = {t.name: t for t in tools}
    catalog = "\n".join(f"- {t.name}({', '.join(t.args)}): {t.description}" for t in tools)
    planner = model.with_structured_output(CompilerPlan)
    joiner = model.with_structured_output(JoinOutputs)

    async def aplan_and_schedule(state: CompilerState) -> CompilerState:
        plan = await planner.ainvoke([SystemMessage(PLANNER.format(tools=catalog)), *state["messages"]])
        return {"messages": await run_dag(plan.tasks, by_name)}

    def plan_and_schedule(state: CompilerState) -> CompilerState:
        plan = planner.invoke([SystemMessage(PLANNER.format(tools=catalog)), *state["messages"]])
        return {"messages": asyncio.run(run_dag(plan.tasks, by_name))}

    def join_update(state: CompilerState, decision: JoinOutputs) -> CompilerState:
        if isinstance(decision.action, Replan) and state.get("replans", 0) < MAX_REPLANS:
            return {"messages": [SystemMessage(f"Context from last attempt: {decision.action.feedback}")],
                    "replans": state.get("replans", 0) + 1}
        text = decision.action.response if isinstance(decision.action, FinalResponse) else decision.thought
        return {"messages": [AIMessage(content=text)]}

    def join(state: CompilerState) -> CompilerState:
        return join_update(state, joiner.invoke([*state["messages"], SystemMessage(JOINER)]))

    async def ajoin(state: CompilerState) -> CompilerState:
        return join_update(state, await joiner.ainvoke([*state["messages"], SystemMessage(JOINER)]))

    def should_continue(state: CompilerState) -> Literal["plan_and_schedule", "__end__"]:
        return END if isinstance(state["messages"][-1], AIMessage) else "plan_and_schedule"

    workflow = StateGraph(CompilerState)
    workflow.add_node("plan_and_schedule", RunnableLambda(plan_and_schedule, afunc=aplan_and_schedule, name="plan"))
    workflow.add_node("join", RunnableLambda(join, afunc=ajoin, name="join"))
    workflow.add_edge(START, "plan_and_schedule")
    workflow.add_edge("plan_and_schedule", "join")
    workflow.add_conditional_edges("join", should_continue, ["plan_and_schedule", END])
    return workflow.compile(checkpointer=checkpointer, name="llm_compiler")
