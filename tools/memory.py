"""Memory: remember, recall (by keyword) and forget facts about the user, kept in the Store across threads."""

from __future__ import annotations

import re
import uuid
from typing import Any

from langchain_core.tools import tool
from pydantic import BaseModel, Field

from plangate.tools import runtime
from plangate.tools.errors import ToolError
from plangate.tools.metadata import describe_tool

STOPWORDS = frozenset(
    "a an the and or but of to in on at for with about that this these those is are was were be been am do does did "
    "i me my mine you your we our he she it its they them their his her what which who whom when where why how "
    "there here have has had will would can could should remember recall know anything everything something "
    "please tell say said".split()
)
EVERYTHING = {"everything", "all", "anything", "all of it", "all facts", "*"}


def _ns() -> tuple[str, ...]:
    return runtime.namespace("memories")


def _stem(word: str) -> str:
    for suffix in ("ies", "es", "s", "ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def keywords(text: str) -> set[str]:
    """Content words of `text`, lower-cased and crudely stemmed ("tulips" -> "tulip")."""
    return {_stem(w) for w in re.findall(r"[a-z0-9']+", text.lower()) if w not in STOPWORDS and len(w) > 1}


def _facts() -> list[dict[str, Any]]:
    return sorted(runtime.all_values(_ns()), key=lambda f: f["created_at"])


def _matches(query: str | None) -> list[tuple[int, dict[str, Any]]]:
    """(score, fact) for facts sharing keywords with `query`, best first; every fact when the query is empty."""
    facts = _facts()
    if not query or query.strip().lower() in EVERYTHING or not keywords(query):
        return [(0, f) for f in reversed(facts)]
    wanted = keywords(query)
    scored = [(len(wanted & keywords(f["fact"])), f) for f in facts]
    return sorted(((s, f) for s, f in scored if s), key=lambda sf: (-sf[0], sf[1]["created_at"]))


class RememberArgs(BaseModel):
    fact: str = Field(min_length=2, max_length=500, description="the fact to keep, e.g. 'my wife likes tulips'")


@tool("remember", args_schema=RememberArgs)
def remember(fact: str) -> dict[str, Any]:
    """Remember a fact about the user for later conversations."""
    fact = " ".join(fact.split()).rstrip(".")
    for known in _facts():
        if known["fact"].lower() == fact.lower():
            return {"message": f"I already remember that {fact}.", "memory": known, "new": False}
    memory = {"id": uuid.uuid4().hex[:8], "fact": fact, "created_at": runtime.now().isoformat(timespec="seconds")}
    runtime.current_store().put(_ns(), memory["id"], memory)
    return {"message": f"OK, I'll remember that {fact}.", "memory": memory, "new": True}


class RecallArgs(BaseModel):
    query: str | None = Field(default=None, max_length=200, description="keywords to look for; empty for everything")
    limit: int = Field(default=5, ge=1, le=50, description="most facts to return")


@tool("recall", args_schema=RecallArgs)
def recall(query: str | None = None, limit: int = 5) -> dict[str, Any]:
    """Recall remembered facts that share keywords with the query (all facts when it is empty)."""
    found = [f for _, f in _matches(query)][:limit]
    if not found:
        about = f" about {query!r}" if query else ""
        return {"message": f"I don't remember anything{about}.", "memories": []}
    return {"message": "I remember: " + "; ".join(f["fact"] for f in found) + ".", "memories": found}


class ForgetArgs(BaseModel):
    query: str | None = Field(default=None, max_length=200, description="keywords of the fact(s) to forget; 'everything' for all")
    memory_id: str | None = Field(default=None, description="id of one fact")


@tool("forget", args_schema=ForgetArgs)
def forget(query: str | None = None, memory_id: str | None = None) -> dict[str, Any]:
    """Forget remembered facts: one by id, every fact containing all the query's keywords, or everything."""
    if not (query or memory_id):
        raise ToolError("give query (keywords, or 'everything') or memory_id")
    if memory_id:
        chosen = [f for f in _facts() if f["id"] == memory_id]
    elif query and query.strip().lower() in EVERYTHING:
        chosen = _facts()
    else:
        wanted = keywords(query or "")
        chosen = [f for s, f in _matches(query) if wanted and s == len(wanted)]
    if not chosen:
        raise ToolError(f"I don't remember anything matching {memory_id or query!r}")
    for fact in chosen:
        runtime.current_store().delete(_ns(), fact["id"])
    return {"message": f"Forgotten: {'; '.join(f['fact'] for f in chosen)}.", "forgotten": chosen}


TOOLS = [
    describe_tool(remember, domain="memory", default=True, action="remember that",
                  keywords=["remember", "remember that", "note that", "keep in mind", "keep that in mind", "fyi"],
                  slots={"fact": "text"}),
    describe_tool(recall, domain="memory", action="recall that",
                  keywords=["what do you remember", "do you remember", "what do you know about", "recall",
                            "remember about", "what did i tell you"],
                  slots={"query": "text"}),
    describe_tool(forget, domain="memory", side_effects=True, action="forget that",
                  keywords=["forget", "forget that", "forget about", "stop remembering"],
                  slots={"query": "text"}),
]
