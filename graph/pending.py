"""A chat message sent while a thread waits for approval is never silently lost.

Chat UIs send whatever is typed as a new message, not as a resume. The router asks this module:
- is the thread's last turn an unfinished plan (no answer yet), and is it waiting for a plan or step approval?
- is the new message a clear yes or no ("approve", "yes, go ahead", "no", "cancel it")? Then it is the decision.
- anything else closes the pending plan explicitly: the new turn's answer starts by saying what was not run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from plangate.graph.context import Context
from plangate.graph.intake import approval_policy

Waiting = Literal["plan", "steps"]
_YES = ("yes", "yeah", "yep", "yup", "sure", "ok", "okay", "approve", "approved", "i approve", "confirm", "confirmed",
        "go ahead", "go for it", "do it", "run it", "proceed", "please do", "sounds good", "y", "lgtm", "go")
_NO = ("no", "nope", "nah", "reject", "rejected", "cancel", "cancel it", "cancel that", "stop", "abort", "deny",
       "don't", "dont", "do not", "don't do it", "do not do it", "never mind", "nevermind", "n", "forget it")
_FILLER = ("please", "thanks", "thank you", "it", "that", "the plan", "this", "then")


def _phrases(words: Sequence[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_CLEAR = {
    "approve": re.compile(rf"^(?:(?:{_phrases(_FILLER)})\s+)*(?:{_phrases(_YES)})(?:\s+(?:{_phrases((*_YES, *_FILLER))}))*$"),
    "reject": re.compile(rf"^(?:(?:{_phrases(_FILLER)})\s+)*(?:{_phrases(_NO)})(?:\s+(?:{_phrases((*_NO, *_FILLER))}))*$"),
}


def clear_answer(text: str) -> Literal["approve", "reject"] | None:
    """"approve" or "reject" when `text` is only a yes or only a no (with fillers); None for anything else."""
    words = re.sub(r"[^\w' ]+", " ", text.lower().replace("’", "'")).split()
    if not words or len(words) > 8:
        return None
    said = " ".join(words)
    found = [kind for kind, pattern in _CLEAR.items() if pattern.match(said)]
    return found[0] if len(found) == 1 else None  # type: ignore[return-value]


def _previous_turn(messages: Sequence[BaseMessage]) -> list[BaseMessage] | None:
    """The messages of the turn before the newest user message, starting with its request."""
    humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    if len(humans) < 2 or humans[-1] != len(messages) - 1:
        return None
    return list(messages[humans[-2]:humans[-1]])


def unfinished_plan(state: Mapping[str, Any]) -> bool:
    """True when the previous turn made a plan and never answered (waiting, cancelled or cut off)."""
    turn = _previous_turn(state.get("messages") or [])
    if turn is None or not state.get("plan") or state.get("error"):
        return False
    return not any(isinstance(m, AIMessage) and not m.tool_calls for m in turn[1:])


def waiting_for(state: Mapping[str, Any], ctx: Context) -> Waiting | None:
    """Which approval the unfinished previous turn waits for, if any."""
    if not unfinished_plan(state):
        return None
    policy = approval_policy(state, ctx)
    if policy["plans"] and not state.get("plan_approved") and state.get("plan_source") != "fast_path":
        return "plan"
    if state.get("next_action") == "approve":
        return "steps"
    return None


def chat_decision(state: Mapping[str, Any], ctx: Context, text: str) -> dict[str, Any] | None:
    """The approval decision a clear yes / no stands for, while an approval is pending; else None."""
    waiting = waiting_for(state, ctx)
    verdict = clear_answer(text) if waiting else None
    if verdict is None:
        return None
    value: Any = "approve" if verdict == "approve" else {"decision": "reject", "reason": f"rejected in the chat: {text[:200]!r}"}
    return {"for": waiting, "value": value}


def typed_decision(state: Mapping[str, Any], kind: Waiting) -> Any:
    """The chat decision meant for the `kind` approval node, or None."""
    typed = state.get("chat_decision")
    return typed.get("value") if isinstance(typed, Mapping) and typed.get("for") == kind else None


def closing_note(state: Mapping[str, Any]) -> str:
    """What the unfinished plan did not run, said when a new request closes it.

    Steps of a wave that was under way when the run was cut off (a cancel, a double-text `interrupt`) may have
    finished: LangGraph keeps their saved results for a resume, but a new input starts from the last checkpoint
    without them. Those are named as "under way, may have run", never as "not run"."""
    plan = state.get("plan") or {}
    results = {str(k): v for k, v in (state.get("step_results") or {}).items()}
    in_flight = {str(i) for i in state.get("wave") or []} if state.get("next_action") == "run" else set()
    left, unsure = [], []
    for step in plan.get("steps") or []:
        status = (results.get(str(step.get("id"))) or {}).get("status")
        if status not in ("completed", "failed", "skipped"):
            args = json.dumps(step.get("args") or {}, ensure_ascii=False, default=str)
            (unsure if str(step.get("id")) in in_flight or status == "running" else left).append(
                f"step {step.get('id')} {step.get('tool')} {args}")
    goal = plan.get("goal") or "the earlier request"
    if not left and not unsure:
        return f"The earlier plan ({goal}) was closed before its answer."
    said = [f"under way when it was closed, so it may have run: {'; '.join(unsure)}"] if unsure else []
    said += [f"not run: {'; '.join(left)}"] if left else []
    return f"The earlier plan ({goal}) was closed without an answer; " + ". ".join(said).replace(". not run", ". Not run") + "."
