"""Memory: remember, recall by keyword, forget; per user and across threads."""

from __future__ import annotations

import pytest
from langgraph.store.memory import InMemoryStore
from pydantic import ValidationError

from plangate.graph.context import Context
from plangate.tools import memory
from plangate.tools.errors import ToolError
from tests.helpers import config, make_graph, user


def remember(fact):
    return memory.remember.invoke({"fact": fact})


def test_recall_by_keyword_with_simple_stemming():
    remember("my wife likes tulips")
    remember("the wifi password is on the fridge")
    remember("Bob's birthday is on 3 March")
    out = memory.recall.invoke({"query": "tulip"})
    assert [m["fact"] for m in out["memories"]] == ["my wife likes tulips"]
    assert out["message"] == "I remember: my wife likes tulips."
    assert [m["fact"] for m in memory.recall.invoke({"query": "what does my wife like?"})["memories"]][0] == "my wife likes tulips"
    assert len(memory.recall.invoke({})["memories"]) == 3
    assert memory.recall.invoke({"query": "sailing"})["message"] == "I don't remember anything about 'sailing'."


def test_the_same_fact_is_kept_once():
    assert remember("My wife likes tulips.")["new"] is True
    assert remember("my wife likes tulips")["new"] is False
    assert len(memory.recall.invoke({})["memories"]) == 1


def test_forget_by_keywords_id_or_everything():
    remember("my wife likes tulips")
    kept = remember("my wife likes jazz")["memory"]
    remember("the car is blue")
    out = memory.forget.invoke({"query": "wife tulips"})
    assert [m["fact"] for m in out["forgotten"]] == ["my wife likes tulips"]  # every keyword must match
    memory.forget.invoke({"memory_id": kept["id"]})
    assert [m["fact"] for m in memory.recall.invoke({})["memories"]] == ["the car is blue"]
    with pytest.raises(ToolError, match="don't remember anything matching 'tulips'"):
        memory.forget.invoke({"query": "tulips"})
    memory.forget.invoke({"query": "everything"})
    assert memory.recall.invoke({})["memories"] == []
    with pytest.raises(ToolError, match="give query"):
        memory.forget.invoke({})


def test_invalid_facts_are_rejected():
    with pytest.raises(ValidationError):
        memory.remember.invoke({"fact": ""})
    with pytest.raises(ValidationError):
        memory.remember.invoke({"fact": "x" * 600})


def test_memories_cross_threads_but_not_users():
    store = InMemoryStore()
    graph = make_graph(store=store)
    graph.invoke(user("remember that my wife likes tulips"), config("thread-a"), context=Context(user_id="ann"))
    out = graph.invoke(user("what do you remember about tulips"), config("thread-b"), context=Context(user_id="ann"))
    assert out["messages"][-1].content == "I remember: my wife likes tulips."
    other = graph.invoke(user("what do you remember about tulips"), config("thread-c"), context=Context(user_id="ben"))
    assert other["messages"][-1].content == "I don't remember anything about 'tulips'."
    assert [item.value["fact"] for item in store.search(("plangate", "memories", "ann"))] == ["my wife likes tulips"]
