"""The offline rules model: a real, deterministic BaseChatModel that needs no network.

Used whenever no endpoint is configured. It answers the structured requests plangate makes
(route decisions, plans, replan decisions), picks and fills tool calls for bound tools, and writes
answers from step results, all through `plangate.graph.offline.rules`.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

from plangate.graph.offline import advice, rules
from plangate.tools.registry import REFERENCE, ToolRegistry

ROUTE_SCHEMA, PLAN_SCHEMA, REPLAN_SCHEMA = "RouteDecision", "PlanDraft", "ReplanDecision"
STREAM_WORDS = 3  # words per streamed chunk: the quickstart shows streaming with no key
_BLOCK = re.compile(r"<(step_results|plan_state)>\s*(.*?)\s*</\1>", re.DOTALL)


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return " ".join(part.get("text", "") for part in content if isinstance(part, dict))


def _request(messages: Sequence[BaseMessage], *, last: bool = False) -> str:
    """The user's request: the first human message (repair feedback comes later), or the last one in a chat."""
    humans = [m for m in messages if isinstance(m, HumanMessage)]
    return _text(humans[-1 if last else 0]) if humans else ""


def _block(messages: Sequence[BaseMessage], name: str) -> Any:
    for message in reversed(messages):
        for found_name, body in _BLOCK.findall(_text(message)):
            if found_name == name:
                return json.loads(body)
    return None


class OfflineRulesModel(BaseChatModel):
    """Deterministic rules posing as a chat model; understands every tool that declares keywords."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    registry: Any = Field(default=None, exclude=True)
    clock: Callable[[], datetime] = Field(default=lambda: datetime.now().astimezone(), exclude=True)

    @property
    def _llm_type(self) -> str:
        return "plangate-offline-rules"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": "offline-rules"}

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Runnable:
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def with_structured_output(self, schema: Any, *, include_raw: bool = False, **kwargs: Any) -> Runnable:
        kwargs.pop("method", None)
        kwargs.pop("strict", None)
        return super().with_structured_output(schema, include_raw=include_raw, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = kwargs.get("tools") or []
        names = [t["function"]["name"] for t in tools]
        message = self._respond(messages, names, tools)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _chunks(self, messages: list[BaseMessage], **kwargs: Any) -> list[ChatGenerationChunk]:
        """The reply in small chunks, as a real model streams it: a few words of text at a time (a tool call whole)."""
        tools = kwargs.get("tools") or []
        message = self._respond(messages, [t["function"]["name"] for t in tools], tools)
        if message.tool_calls:
            calls = [tool_call_chunk(name=c["name"], args=json.dumps(c["args"]), id=c["id"], index=i)
                     for i, c in enumerate(message.tool_calls)]
            return [ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=calls))]
        pieces = re.findall(r"\S+\s*|\s+", str(message.content)) or [""]
        return [ChatGenerationChunk(message=AIMessageChunk(content="".join(pieces[i:i + STREAM_WORDS])))
                for i in range(0, len(pieces), STREAM_WORDS)]

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages, **kwargs):
            if run_manager:
                run_manager.on_llm_new_token(str(chunk.message.content), chunk=chunk)
            yield chunk

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages, **kwargs):
            if run_manager:
                await run_manager.on_llm_new_token(str(chunk.message.content), chunk=chunk)
            yield chunk

    def _respond(self, messages: list[BaseMessage], names: list[str], tools: list[dict]) -> AIMessage:
        registry: ToolRegistry | None = self.registry
        request = _request(messages)
        if ROUTE_SCHEMA in names and registry is not None:
            decision = rules.decide_route(request, registry)
            return _call(ROUTE_SCHEMA, vars(decision))
        if PLAN_SCHEMA in names and registry is not None:
            return _call(PLAN_SCHEMA, rules.draft_plan(request, registry, self.clock()))
        if REPLAN_SCHEMA in names:
            return _call(REPLAN_SCHEMA, replan(_block(messages, "plan_state") or {}))
        if names and registry is not None:
            return self._tool_call(request, names)
        results = _block(messages, "step_results")
        if results is not None:
            return AIMessage(content=rules.summarize(request, results, registry))
        latest = _request(messages, last=True)
        return AIMessage(content=advice.answer(latest) or reply_text(latest))

    def _tool_call(self, request: str, names: list[str]) -> AIMessage:
        registry: ToolRegistry = self.registry
        known = {registry.provider_name(n): n for n in registry.names()}
        candidates = [known[n] for n in names if n in known]
        if not candidates:
            return AIMessage(content=reply_text(request))
        domain = registry.domain_of(candidates[0])
        picked = rules.pick_tool(request, domain, registry, self.clock())
        chosen = picked if picked in candidates else candidates[0]
        args = rules.extract_args(request, chosen, registry, self.clock())
        return _call(registry.provider_name(chosen), args)


_CALLS = {"n": 0}


def _call(name: str, args: dict[str, Any]) -> AIMessage:
    _CALLS["n"] += 1
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"offline_{_CALLS['n']}", "type": "tool_call"}])


def _remap(value: Any, renamed: dict[int, int]) -> Any:
    """`value` with {{step_N}} references to renamed steps pointing at their new ids."""
    if isinstance(value, str):
        return REFERENCE.sub(lambda m: m.group(0).replace(f"step_{m.group(1)}", f"step_{renamed.get(int(m.group(1)), int(m.group(1)))}", 1), value)
    if isinstance(value, dict):
        return {k: _remap(v, renamed) for k, v in value.items()}
    if isinstance(value, list):
        return [_remap(v, renamed) for v in value]
    return value


def _prerequisites(step: dict[str, Any]) -> set[int]:
    needed = {int(i) for i in step.get("depends_on") or []}
    needed |= {int(m.group(1)) for m in REFERENCE.finditer(json.dumps(step.get("args") or {}))}
    if step.get("condition"):
        needed.add(int(step["condition"]["step"]))
    return needed - {step["id"]}


def replan(state: dict[str, Any]) -> dict[str, Any]:
    """Retry each newly failed step once when its error can pass, and re-create the steps that were blocked
    behind it (with new ids and remapped references); otherwise finish with what worked."""
    plan = state.get("plan") or {}
    results = {int(k): v for k, v in (state.get("results") or {}).items()}
    failed = [int(i) for i in state.get("failed", [])]
    steps = {s["id"]: s for s in plan.get("steps", [])}
    retry = [i for i in failed if i in steps and results.get(i, {}).get("retryable")
             and not steps[i].get("description", "").startswith("retry of")]
    if not retry:
        return {"action": "finish", "reasoning": "rules: the failures cannot pass by trying again", "steps": []}
    next_id = int(state.get("next_id") or max(steps) + 1)
    renamed: dict[int, int] = {}
    new_steps = []
    hopeless = {i for i in failed if i not in retry}
    for step_id in sorted(steps):
        old = steps[step_id]
        status = results.get(step_id, {}).get("status", "pending")
        needs = _prerequisites(old)
        again = step_id in retry or (status in ("pending", "running") and needs & set(renamed) and not needs & hopeless)
        if not again:
            continue
        renamed[step_id] = next_id
        copy = {**old, "id": next_id, "description": f"retry of step {step_id}: {old.get('description', '')}"}
        copy["depends_on"] = [renamed.get(int(i), int(i)) for i in old.get("depends_on") or []]
        copy["args"] = _remap(old.get("args") or {}, renamed)
        if old.get("condition"):
            copy["condition"] = {**old["condition"], "step": renamed.get(int(old["condition"]["step"]), old["condition"]["step"])}
        if old.get("fallback_for") is not None:
            copy["fallback_for"] = renamed.get(int(old["fallback_for"]), old["fallback_for"])
        new_steps.append(copy)
        next_id += 1
    return {"action": "replan", "reasoning": f"rules: retry step(s) {retry} once, with {len(new_steps) - len(retry)} "
            "step(s) that waited for them", "steps": new_steps}


_SMALLTALK_REPLIES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(thanks?|thank you|cheers)\b", re.I), "You're welcome! Anything else?"),
    (re.compile(r"\b(bye|goodbye|see you|good night)\b", re.I), "Goodbye! Your timers and reminders keep running."),
    (re.compile(r"\bhow are you\b", re.I), "I'm doing well, thanks for asking. What can I do for you?"),
    (re.compile(r"\b(joke)\b", re.I),
     "Why did the smart thermostat break up with the window? It kept leaving it out in the cold."),
    (re.compile(r"\b(who are you|what are you)\b", re.I),
     "I'm plangate, a home assistant agent: simple requests get a fast answer, bigger ones a step-by-step plan."),
    (re.compile(r"\b(what can you do|help)\b", re.I), ""),
    (re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b", re.I), "Hello! "),
]
_CAPABILITIES = (
    "I can set timers ('set a tea timer for 3 minutes'), manage your calendar ('add dentist tomorrow at 9am'), "
    "check the weather ('weather in Paris'), control the smart home ('turn on the kitchen lights'), search your "
    "documents ('search the docs for checkpointing'), remember things ('remember that my wife likes tulips') and "
    "send notifications ('notify me that dinner is ready'). Combine them: 'set a timer for 10 minutes, then notify me'."
)


def reply_text(prompt: str) -> str:
    """The offline answer to a message without a tool: small talk gets a friendly reply, the rest an honest note."""
    for pattern, reply in _SMALLTALK_REPLIES if rules.SMALLTALK.search(prompt) else []:
        if pattern.search(prompt):
            return reply + _CAPABILITIES if reply in ("", "Hello! ") else reply
    snippet = " ".join(prompt.split())[:200]
    return (
        f"I didn't do {snippet!r}: I'm running on the offline rules model, so I can act on timers, calendar, weather, "
        "smart home, search, memory and notifications, but not write free text. "
        "Set OPENAI_API_KEY or PLANGATE_BASE_URL to use a real model."
    )


def is_offline(model: LanguageModelInput | Any) -> bool:
    return isinstance(model, OfflineRulesModel)
