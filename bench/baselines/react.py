"""ReAct: one tool-calling agent loop, `langgraph.prebuilt.create_react_agent`.

The agent may call several tools in one turn (parallel tool calls), the strongest form of ReAct.
Tool errors come back to the model as error ToolMessages, as in any production agent.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode

PROMPT = "You are a helpful assistant. Use the tools to do what the user asks, then answer briefly."


def react_agent(model: BaseChatModel, tools: Sequence[BaseTool], *, prompt: str = PROMPT, checkpointer: Any = None,
                name: str = "react") -> CompiledStateGraph:
    with warnings.catch_warnings():  # create_react_agent is deprecated in favour of langchain's create_agent
        warnings.simplefilter("ignore")
        from langgraph.prebuilt import create_react_agent

        return create_react_agent(model, ToolNode(list(tools), handle_tool_errors=True), prompt=prompt,
                                  checkpointer=checkpointer, name=name)


def build_react(model: BaseChatModel, tools: Sequence[BaseTool], *, checkpointer: Any = None) -> CompiledStateGraph:
    return react_agent(model, tools, checkpointer=checkpointer)
