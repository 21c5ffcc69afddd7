"""Fast-reply path: one domain, one cheap (weak-tier) model call and one tool.

The model sees only the chosen domain's tools, with a forced tool choice ("any" where the endpoint
supports it, else the tool the rules pick, by name). A missing or unknown call, a model that is down,
and arguments that fail validation are replaced by the rules' call, recorded in
`metrics["fallbacks"]` and `route_reason`; side-effecting tools under `approve_side_effects=on` (and high-risk devices always) become a one-step plan
so the approval node and the executor handle them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from plangate.graph.context import Context
from plangate.graph.engine.plan import ExecutionPlan, PlanStep
from plangate.graph.engine.risk import call_needs_approval
from plangate.graph.engine.step_runner import run_tool_step
from plangate.graph.events import emit
from plangate.graph.intake import plan_update
from plangate.graph.io import IO
from plangate.graph.models.jsontext import parse_tool_call_text
from plangate.graph.models.structured import Usage, internal
from plangate.graph.models.tiers import endpoint_profile
from plangate.graph.offline import coverage, rules
from plangate.graph.services import Services, answer
from plangate.graph.state import AgentState, StepResult
from plangate.nodes import prompts
from plangate.tools.registry import CONVERSATION


def _chosen_call(reply: AIMessage, allowed: list[str]) -> tuple[str, dict[str, Any]] | None:
    for call in reply.tool_calls or []:
        if call["name"] in allowed:
            return call["name"], dict(call["args"] or {})
    if isinstance(reply.content, str) and reply.content.strip():
        return parse_tool_call_text(reply.content, allowed)
    return None


def result_text(result: StepResult, label: str) -> str:
    """The user-facing sentence for a fast-path tool result."""
    if result["status"] == "completed":
        output = result["output"]
        if isinstance(output, dict) and isinstance(output.get("message"), str):
            return output["message"]
        return output if isinstance(output, str) else json.dumps(output, ensure_ascii=False, default=str)
    return f"I couldn't {label}: {result['error']}"


async def fast_reply(state: AgentState, runtime: Runtime[Context], io: IO, *, services: Services) -> dict[str, Any]:
    """Answer with one tool call of the routed domain (or a chat reply for conversation)."""
    ctx = services.context(runtime)
    registry = services.registry
    domain = state.get("domain") or CONVERSATION
    request = state.get("request") or ""
    usage = Usage()
    model = services.model(ctx, "weak")
    tools = registry.tools_in(domain)
    if domain == CONVERSATION or not tools:
        history = [m for m in state.get("messages") or [] if isinstance(m, HumanMessage | AIMessage) and not getattr(m, "tool_calls", None)]
        try:
            reply = await io.model(model, [SystemMessage(prompts.CONVERSATION), *history[-10:]])
        except Exception as exc:  # the model is down: say so instead of crashing the run
            reply = AIMessage(content=f"I can't reach the language model right now ({type(exc).__name__}); please try again.")
            usage.notes.append("conversation_model_failed")
        else:
            usage.add(reply)
        return {**answer(str(reply.content), state, message_id=reply.id), "metrics": usage.metrics()}

    name, args = await _tool_call(io, model, request, domain, tools, services, usage, state.get("messages") or [])
    if call_needs_approval(name, args, state, ctx, registry):
        step = PlanStep(id=1, tool=name, args=args, description=request)
        plan = ExecutionPlan(goal=request, reasoning="fast path: one side-effecting tool, approval required", steps=[step])
        emit("plan_created", plan_id=plan.plan_id, steps=1, version=1, source="fast_path")
        return {**plan_update(plan.model_dump()), "plan_source": "fast_path", "plan_baseline": 1, "metrics": usage.metrics()}

    result = await run_tool_step(
        io, registry.get(name), args, name=name, step_id=1, plan_id="fast", retries=ctx.step_retries, timeout_s=ctx.step_timeout_s
    )
    tool_calls = result["attempts"]
    rules_args = rules.extract_args(request, name, registry, datetime.now().astimezone())
    if result["status"] == "failed" and not result.get("retryable") and rules_args != args and not registry.check_args(name, rules_args):
        # the tool rejected the model's arguments (valid in type, wrong in value): once more with the rules' ones
        usage.notes.append("fast_args_rules_fallback: the tool rejected the model's arguments")
        result = await run_tool_step(
            io, registry.get(name), rules_args, name=name, step_id=1, plan_id="fast", retries=ctx.step_retries, timeout_s=ctx.step_timeout_s
        )
        tool_calls += result["attempts"]
    metrics = {**usage.metrics(), "tool_calls": tool_calls, "duration_ms": int((time.time() - state.get("started_at", time.time())) * 1000)}
    update: dict[str, Any] = {}
    if usage.notes:
        metrics["fallbacks"] = usage.notes
        update["route_reason"] = f"{state.get('route_reason', '')} | fast path: {', '.join(usage.notes)}"
    text = result_text(result, registry.meta(name).get("action") or request[:80])
    text += coverage.fast_note(request, name, registry)  # what the one tool call did not cover, said out loud
    return {**answer(text, state), **update, "step_results": {1: result}, "metrics": metrics}


async def _tool_call(io: IO, model: BaseChatModel, request: str, domain: str, tools: list[str], services: Services,
                     usage: Usage, earlier: Sequence[BaseMessage]) -> tuple[str, dict[str, Any]]:
    """(tool name, args): the weak model's call, with the rules filling in what it got wrong.

    One tool, or an endpoint that takes "any": the model chooses. OpenAI-compatible servers only follow
    a forced *named* choice, so there the rules pick the tool and the model fills its arguments. No
    usable call (prose, unknown tool, model down) means the rules' tool; invalid args, the rules' args.
    """
    registry = services.registry
    picked = rules.pick_tool(request, domain, registry)
    offered = tools if len(tools) == 1 or endpoint_profile(model).any_tool_choice else [picked]
    provider_names = [registry.provider_name(n) for n in offered]
    choice = provider_names[0] if len(provider_names) == 1 else "any"
    bound = internal(model.bind_tools([registry.provider_schema(n) for n in offered], tool_choice=choice, max_tokens=256))
    now = datetime.now().astimezone().isoformat(timespec="minutes")
    chosen = None
    try:
        system = prompts.with_earlier_turns(prompts.FAST_REPLY.format(domain=domain, now=now), earlier)
        reply = await io.model(bound, [SystemMessage(system), HumanMessage(request)])
    except Exception as exc:  # the model is down: the rules make the call
        usage.notes.append(f"fast_model_failed_rules_fallback: {type(exc).__name__}")
    else:
        usage.add(reply)
        chosen = _chosen_call(reply, provider_names)
        if chosen is None:
            usage.notes.append("fast_tool_rules_fallback")
    name = registry.from_provider_name(chosen[0]) if chosen else picked
    args = chosen[1] if chosen else {}
    if chosen is None or registry.check_args(name, args):
        repaired = rules.extract_args(request, name, registry, datetime.now().astimezone())
        if chosen is None or not registry.check_args(name, repaired):
            args = repaired
            if chosen is not None:
                usage.notes.append("fast_args_rules_fallback")
    return name, args


def route_after_fast_reply(state: AgentState) -> Literal["dispatch", "__end__"]:
    return "dispatch" if state.get("plan_source") == "fast_path" else "__end__"
