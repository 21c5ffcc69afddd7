"""Checks on what the caller sent, before any model is called, and the per-turn state reset."""

from __future__ import annotations

import hashlib
import json
import re
import time
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from langgraph.types import Overwrite

from plangate.graph.context import Context
from plangate.graph.engine.plan import shallow_plan


class InputError(ValueError):
    """What the caller sent cannot be run; the message names the field."""


def plan_fingerprint(plan: Mapping[str, Any] | None) -> str | None:
    if not plan:
        return None
    return hashlib.sha256(json.dumps(shallow_plan(plan), sort_keys=True, default=str).encode()).hexdigest()[:16]


def plan_update(plan: Mapping[str, Any]) -> dict[str, Any]:
    """The state update that stores `plan`, remembering its fingerprint so it is never taken for new input."""
    return {"plan": dict(plan), "plan_seen": plan_fingerprint(plan)}


def explicit_plan(state: Mapping[str, Any]) -> dict[str, Any] | None:
    """The plan the caller sent with this input, if any (any plan the graph itself wrote does not count)."""
    plan = state.get("plan")
    if plan is None:
        return None
    if not isinstance(plan, Mapping):
        raise InputError(f"plan: expected an ExecutionPlan object, got {type(plan).__name__}")
    messages = state.get("messages") or []
    new_fingerprint = plan_fingerprint(plan) != state.get("plan_seen")
    no_new_request = not messages or not isinstance(messages[-1], HumanMessage)
    return shallow_plan(plan) if (new_fingerprint or no_new_request) else None


# Terminal escape sequences (colours pasted from a terminal): dropped whole, so "\x1b[31m" leaves no "[31m"
# behind for the slot parser to read as "31 minutes".
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]")


def _clean_text(text: str) -> str:
    kept = [ch for ch in _ESCAPES.sub("", text) if ch in "\n\t" or unicodedata.category(ch)[0] != "C"]
    return "".join(kept).encode("utf-8", "replace").decode("utf-8")


def checked_request(messages: Sequence[BaseMessage], ctx: Context) -> str:
    """The request text of the last message, cleaned; InputError when it cannot be handled."""
    if not messages:
        raise InputError("messages: send at least one user message, e.g. {'messages': [{'role': 'user', 'content': '...'}]}")
    last = messages[-1]
    if not isinstance(last, HumanMessage):
        raise InputError(f"messages: the last message must come from the user, got a {last.type} message")
    content = last.content
    if isinstance(content, list):
        texts = [p if isinstance(p, str) else p.get("text", "") for p in content if isinstance(p, str) or p.get("type") == "text"]
        if not any(t.strip() for t in texts):
            kinds = sorted({p.get("type", "?") for p in content if isinstance(p, dict)})
            raise InputError(f"messages[-1].content: no text found (content blocks: {', '.join(kinds) or 'none'}); send text")
        content = " ".join(texts)
    if len(content) > ctx.max_input_chars:
        raise InputError(
            f"messages[-1].content: {len(content)} characters is over the limit of {ctx.max_input_chars} "
            "(Context.max_input_chars)"
        )
    text = _clean_text(content).strip()
    if not text:
        raise InputError("messages[-1].content: the message is empty; say what you need")
    return text


def approval_policy(state: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """Which approvals this turn needs: fixed when the turn starts, so a resume sent without the same
    Context (an SDK call, another process) can never skip a pending approval.
    `side_effects` is on / replanned / off (see `plangate.graph.engine.risk`)."""
    policy = state.get("approval_policy")
    if isinstance(policy, Mapping):
        effects = policy.get("side_effects")
        effects = ("on" if effects else "off") if isinstance(effects, bool) or effects is None else effects
        return {"plans": bool(policy.get("plans")), "side_effects": effects}
    return {"plans": ctx.approve_plans, "side_effects": ctx.approve_side_effects}


def turn_reset(ctx: Context) -> dict[str, Any]:
    """State keys that start fresh with every new request in a thread."""
    return {
        "approval_policy": {"plans": ctx.approve_plans, "side_effects": ctx.approve_side_effects},
        "step_results": Overwrite({}),
        "approvals": Overwrite({}),
        "plan_baseline": None,
        "plan_approved": False,
        "chat_decision": None,
        "plan_history": Overwrite([]),
        "metrics": Overwrite({"llm_calls": 0, "tool_calls": 0, "replans": 0}),
        "handled_failures": [],
        "replans": 0,
        "halted": None,
        "error": None,
        "wave": [],
        "plan_elapsed_ms": 0,
        "started_at": time.time(),
        "notices": [],
    }
