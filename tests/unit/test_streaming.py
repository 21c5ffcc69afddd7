"""Only the answer streams as chat: internal model calls are tagged nostream, and the answer streams under the id
stored in state (one message, never two). The offline model streams in small chunks."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk

from plangate.graph.context import Context
from tests import scripted
from tests.helpers import config, make_graph, user

PLAN_REQUEST = "set a timer for 5 minutes and then list my timers"


def ai_chunks(parts: list) -> list:
    return [m for m, _ in parts if isinstance(m, AIMessage | AIMessageChunk)]


def tool_traffic(chunks: list) -> list:
    return [m for m in chunks if getattr(m, "tool_calls", None) or getattr(m, "tool_call_chunks", None)]


async def test_offline_plan_answer_streams_in_chunks_under_the_stored_id():
    graph, cfg = make_graph(), config()
    # no answer template, so the summarizer's model writes (and streams) the answer
    parts = [data async for data in graph.astream(user(PLAN_REQUEST), cfg, stream_mode="messages",
                                                  context=Context(answer_templates=False))]
    chunks = ai_chunks(parts)
    final = (await graph.aget_state(cfg)).values["messages"][-1]
    assert {m.id for m in chunks} == {final.id} and len(chunks) > 3
    assert not tool_traffic(chunks)  # the planner's PlanDraft call never shows
    assert {meta["langgraph_node"] for _, meta in parts} == {"summarizer"}
    assert "".join(str(m.content) for m in chunks).strip() == final.content


async def test_an_answer_from_the_plans_template_arrives_whole_under_the_stored_id():
    graph, cfg = make_graph(), config()
    parts = [data async for data in graph.astream(user(PLAN_REQUEST), cfg, stream_mode="messages")]
    chunks = ai_chunks(parts)
    final = (await graph.aget_state(cfg)).values["messages"][-1]
    assert [m.id for m in chunks] == [final.id] and chunks[0].content == final.content  # no model call to stream
    assert not tool_traffic(chunks) and {meta["langgraph_node"] for _, meta in parts} == {"summarizer"}


def test_sync_stream_of_a_chat_reply_streams_too():
    graph, cfg = make_graph(), config()
    chunks = ai_chunks(list(graph.stream(user("hello there"), cfg, stream_mode="messages")))
    final = graph.get_state(cfg).values["messages"][-1]
    assert len(chunks) > 3 and {m.id for m in chunks} == {final.id}


def test_fast_path_tool_choice_does_not_leak():
    graph, cfg = make_graph(), config()
    chunks = ai_chunks(list(graph.stream(user("set a tea timer for 3 minutes"), cfg, stream_mode="messages")))
    final = graph.get_state(cfg).values["messages"][-1]
    assert not tool_traffic(chunks) and [m.id for m in chunks] == [final.id]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_model_router_planner_and_fast_path_calls_are_internal(mode):
    """Scripted models that do not stream: LangGraph would emit each whole reply unless the call is tagged nostream."""
    steps = [{"id": 1, "tool": "timer.set_timer", "args": {"duration_s": 60}},
             {"id": 2, "tool": "timer.list_timers", "args": {}, "depends_on": [1]}]
    models = {"weak": scripted.ScriptedChatModel(default=scripted.route("plan", "timer", 0.99)),
              "strong": scripted.ScriptedChatModel(default=scripted.plan(steps)),
              "default": scripted.ScriptedChatModel(default="A one-minute timer is set and running.")}
    graph, cfg, ctx = make_graph(models=models), config(), Context(router_mode="llm")
    if mode == "sync":
        parts = list(graph.stream(user("a timer for a minute then list them"), cfg, stream_mode="messages", context=ctx))
    else:
        parts = [p async for p in graph.astream(user("a timer for a minute then list them"), cfg, stream_mode="messages",
                                                context=ctx)]
    chunks = ai_chunks(parts)
    final = graph.get_state(cfg).values["messages"][-1]
    assert models["weak"].calls and models["strong"].calls  # the internal calls were made
    assert not tool_traffic(chunks) and [m.id for m in chunks] == [final.id]
    assert final.content == "A one-minute timer is set and running."
