"""The plan in the thread, as chat UIs already draw it: tool calls and their results.

Why messages rather than a generative-UI component: every chat UI built on `useStream` (agent-chat-ui among
them) renders an AI message's tool calls and the tool messages that answer them, with no custom code, no
JavaScript bundle in `langgraph.json`, and the same view in Studio, the SDKs and the thread's history.

- When a plan is approved (or needs no approval), one AI message carries a tool call per step: the plan shows
  before it runs. Steps the replanner adds get an AI message of their own when the turn ends.
- When the turn ends, one tool message per step gives its status and output (or error), then comes the answer.
Models keep a clean history: prompts take earlier turns through `prompts.earlier_turns`, which drops tool
traffic, and the conversation path keeps only plain user and assistant messages.

The messages are written as message dicts, which the `add_messages` reducer turns into messages in state:
LangGraph's `messages` stream only emits message objects from node outputs, so `messages-tuple` streams and chat
UIs' token views carry the answer alone, while `values` and the thread's state carry the whole transcript.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

OUTPUT_CHARS = 2000


def call_id(plan_id: str, step_id: Any) -> str:
    return f"plan-{plan_id}-step-{step_id}"


def _called(messages: Sequence[BaseMessage]) -> set[str]:
    return {str(c["id"]) for m in messages if isinstance(m, AIMessage) for c in m.tool_calls if c.get("id")}


def plan_calls(plan: Mapping[str, Any], steps: Iterable[Mapping[str, Any]], *, version: Any = None) -> dict[str, Any]:
    """One AI message (as a dict) calling each of `steps`: name = tool, args = the step's args."""
    plan_id = str(plan.get("plan_id") or "plan")
    calls = [{"name": str(s["tool"]), "args": dict(s.get("args") or {}), "id": call_id(plan_id, s["id"]), "type": "tool_call"}
             for s in steps]
    return {"type": "ai", "content": "", "tool_calls": calls, "id": f"plan-{plan_id}-v{version or plan.get('version') or 1}-calls"}


def _result_text(result: Mapping[str, Any]) -> str:
    status = result.get("status")
    if status != "completed":
        return f"{status}: {result.get('error') or 'no reason given'}"
    output = result.get("output")
    text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False, default=str)
    return text if len(text) <= OUTPUT_CHARS else text[:OUTPUT_CHARS] + " [cut]"


def transcript(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The messages that end a plan's turn before its answer: calls not shown yet, then one result per step."""
    plan = state.get("plan") or {}
    steps = plan.get("steps") or []
    if not steps:
        return []
    plan_id = str(plan.get("plan_id") or "plan")
    shown = _called(state.get("messages") or [])
    missing = [s for s in steps if call_id(plan_id, s["id"]) not in shown]
    out = [plan_calls(plan, missing)] if missing else []
    results = {str(k): v for k, v in (state.get("step_results") or {}).items()}
    for step in steps:
        result = results.get(str(step["id"])) or {"status": "skipped", "error": "not run"}
        out.append({"type": "tool", "content": _result_text(result), "tool_call_id": call_id(plan_id, step["id"]),
                    "name": str(step["tool"]), "status": "success" if result.get("status") == "completed" else "error",
                    "id": f"{call_id(plan_id, step['id'])}-result"})
    return out
