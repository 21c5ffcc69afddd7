"""LangGraph's plan-and-execute tutorial: planner -> a ReAct agent per step -> replanner after every step.

Faithful to the tutorial: the planner writes a list of step strings; `execute_step` hands the first
remaining step (with the whole plan as text) to a prebuilt ReAct agent; the replanner sees the
objective, the plan and the past steps and returns either the remaining steps or the response.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from bench.baselines.react import react_agent
from bench.policy import PE_PAST_MARKER, PE_STEP_MARKER

PLANNER = """For the given objective, come up with a simple step by step plan. This plan should involve individual \
tasks, that if executed correctly will yield the correct answer. Do not add any superfluous steps. The result of the \
final step should be the final answer. Make sure that each step has all the information needed - do not skip steps."""

REPLANNER = PLANNER + """

Your objective was this:
{input}

Your original plan was this:
{plan}

""" + PE_PAST_MARKER + """
{past_steps}

Update your plan accordingly. If no more steps are needed and you can return to the user, then respond with that. \
Otherwise, fill out the plan. Only add steps to the plan that still NEED to be done. Do not return previously done \
steps as part of the plan."""


class PlanExecute(TypedDict, total=False):
    input: str
    plan: list[str]
    past_steps: Annotated[list[tuple[str, str]], operator.add]
    response: str


class Plan(BaseModel):
    """Plan to follow in future."""

    steps: list[str] = Field(description="different steps to follow, should be in sorted order")


class Response(BaseModel):
    """Response to user."""

    response: str


class Act(BaseModel):
    """Action to perform."""

    action: Response | Plan = Field(description="Response to answer the user; Plan if tools are still needed.")


def _numbered(plan: list[str]) -> str:
    return "\n".join(f"{i + 1}. {step}" for i, step in enumerate(plan))


def build_plan_execute(model: BaseChatModel, tools: Sequence[BaseTool], *, checkpointer: Any = None) -> CompiledStateGraph:
    agent = react_agent(model, tools, prompt="You are a helpful assistant.", name="step_agent")
    planner = model.with_structured_output(Plan)
    replanner = model.with_structured_output(Act)

    def step_input(state: PlanExecute) -> tuple[str, dict[str, Any]]:
        task = state["plan"][0]
        prompt = f"For the following plan:\n{_numbered(state['plan'])}\n\n{PE_STEP_MARKER}{task}."
        return task, {"messages": [HumanMessage(prompt)]}

    def replan_messages(state: PlanExecute) -> list[Any]:
        past = "\n".join(f"- {task}: {result}" for task, result in state.get("past_steps", []))
        return [SystemMessage(REPLANNER.format(input=state["input"], plan=_numbered(state["plan"]), past_steps=past))]

    def replan_update(output: Act) -> PlanExecute:
        if isinstance(output.action, Response):
            return {"response": output.action.response}
        return {"plan": output.action.steps}

    def plan_step(state: PlanExecute) -> PlanExecute:
        plan = planner.invoke([SystemMessage(PLANNER), HumanMessage(state["input"])])
        return {"plan": plan.steps}

    async def aplan_step(state: PlanExecute) -> PlanExecute:
        plan = await planner.ainvoke([SystemMessage(PLANNER), HumanMessage(state["input"])])
        return {"plan": plan.steps}

    def execute_step(state: PlanExecute) -> PlanExecute:
        task, payload = step_input(state)
        out = agent.invoke(payload)
        return {"past_steps": [(task, out["messages"][-1].content)]}

    async def aexecute_step(state: PlanExecute) -> PlanExecute:
        task, payload = step_input(state)
        out = await agent.ainvoke(payload)
        return {"past_steps": [(task, out["messages"][-1].content)]}

    def replan_step(state: PlanExecute) -> PlanExecute:
        return replan_update(replanner.invoke(replan_messages(state)))

    async def areplan_step(state: PlanExecute) -> PlanExecute:
        return replan_update(await replanner.ainvoke(replan_messages(state)))

    def should_end(state: PlanExecute) -> Literal["agent", "__end__"]:
        return END if state.get("response") else "agent"

    workflow = StateGraph(PlanExecute)
    workflow.add_node("planner", RunnableLambda(plan_step, afunc=aplan_step, name="planner"))
    workflow.add_node("agent", RunnableLambda(execute_step, afunc=aexecute_step, name="agent"))
    workflow.add_node("replan", RunnableLambda(replan_step, afunc=areplan_step, name="replan"))
    workflow.add_edge(START, "planner")
    workflow.add_edge("planner", "agent")
    workflow.add_edge("agent", "replan")
    workflow.add_conditional_edges("replan", should_end, ["agent", END])
    return workflow.compile(checkpointer=checkpointer, name="plan_execute")
