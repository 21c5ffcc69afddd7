"""Summarizer: the answer from the request and every step result, with a model call only when one is needed.

When every step completed and the plan has an answer template (`{{step_N.field}}` references, like args),
the answer is rendered from it with no model call (`Context.answer_templates` turns this off). Otherwise the
default tier writes it, naming failed and skipped steps with their reasons. If the model is unavailable, the
rules write the answer instead, so a finished plan always ends with an answer.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from plangate.graph.context import Context
from plangate.graph.engine import plan_library
from plangate.graph.engine.plan import ExecutionPlan
from plangate.graph.engine.references import StepReferenceError, render_template
from plangate.graph.io import IO
from plangate.graph.models.structured import Usage
from plangate.graph.offline import coverage, rules
from plangate.graph.services import Services, answer, elapsed_ms
from plangate.graph.state import AgentState, StepResult, by_step_id, skipped_result
from plangate.nodes import prompts
from plangate.nodes.fast_reply import result_text


def result_rows(plan: ExecutionPlan, results: dict[int, StepResult], limit: int = 4000) -> list[dict[str, Any]]:
    """One row per step: id, tool, description, status, output (cut to `limit` chars), error."""
    rows = []
    for step in plan.steps:
        entry = results.get(step.id) or {"status": "pending"}
        output = entry.get("output")
        if output is not None and len(str(output)) > limit:
            output = str(output)[:limit] + " [cut]"
        rows.append({"id": step.id, "tool": step.tool, "description": step.description or step.tool,
                     "status": entry.get("status"), "output": output, "error": entry.get("error")})
    return rows


def usable_answer(text: str) -> bool:
    """False for an empty reply or one that only repeats the instructions (small models do)."""
    if not text:
        return False
    sentences = [s.strip() for s in text.replace("\n", " ").split(".") if len(s.strip()) >= 25]
    return not sentences or not all(s in prompts.SUMMARIZER.replace("\n", " ") for s in sentences)


async def summarizer(state: AgentState, runtime: Runtime[Context], io: IO, *, services: Services) -> dict[str, Any]:
    """Write the answer from every step result (and learn the plan when it is reusable)."""
    ctx = services.context(runtime)
    plan = ExecutionPlan.of(state)
    results = by_step_id(state.get("step_results"))
    request = state.get("request") or plan.goal
    usage = Usage()
    if state.get("plan_source") == "fast_path":  # one approved tool call: its own message is the answer
        text = result_text(results.get(1) or skipped_result("not run", plan.steps[0].tool), request[:80])
        return {**answer(text, state), "metrics": {"duration_ms": elapsed_ms(state)}}
    rows = result_rows(plan, results)
    text = templated_answer(plan, results) if ctx.answer_templates else None
    streamed_id = None  # a rendered template streams nothing; a written answer keeps the id it streamed under
    if text is None:
        text, streamed_id = await _written_answer(io, services, ctx, state, request, rows, usage)
    store = runtime.store
    # Only plans that rest on the request alone: on a later turn the planner also saw the earlier turns
    # ("make it 10 minutes"), so its plan may not fit the next request with the same words.
    learnable = (state.get("plan_source") == "planner" and plan.version == 1 and not any(r["status"] == "failed" for r in rows)
                 and not prompts.earlier_turns(state.get("messages") or []))
    if ctx.plan_library and store is not None and learnable:
        stored = plan_library.templatize(plan.model_dump(), request)
        stored["key"] = plan_library.request_key(request)
        await io.store_put(store, plan_library.namespace(ctx.user_id), plan_library.store_key(request), stored)
    finished = final_answer(text, state, plan, rows, services, message_id=streamed_id)
    if usage.notes:
        finished["metrics"]["fallbacks"] = usage.notes
    finished["metrics"].update(usage.metrics())
    return finished


def templated_answer(plan: ExecutionPlan, results: dict[int, StepResult]) -> str | None:
    """The plan's answer template rendered, when it has one and every step completed; else None."""
    if not plan.answer or any((results.get(s.id) or {}).get("status") != "completed" for s in plan.steps):
        return None
    try:
        text = render_template(plan.answer, results).strip()
    except StepReferenceError:  # a field the output lacks: the model writes the answer instead
        return None
    return text or None


async def _written_answer(io: IO, services: Services, ctx: Context, state: AgentState, request: str,
                          rows: list[dict[str, Any]], usage: Usage) -> tuple[str, str | None]:
    """The default tier's answer from the step results (the rules' when the model fails or parrots), and the id
    it streamed under."""
    notes = [n for n in (state.get("halted"),) if n]
    body = f"Request: {request}\n\n{prompts.data_block('step_results', rows)}"
    if notes:
        body += "\n\nThe plan stopped early: " + "; ".join(notes)
    streamed_id = None  # the answer streams token by token; the stored message keeps the streamed id
    try:
        reply = await io.model(services.model(ctx, "default"), [SystemMessage(prompts.SUMMARIZER), HumanMessage(body)])
        usage.add(reply)
        streamed_id = reply.id
        text = str(reply.content).strip()
        if not usable_answer(text):
            usage.notes.append("summarizer_rules_fallback: empty or parroted answer")
            text = rules.summarize(request, rows, services.registry)
    except Exception as exc:  # the answer must still come: the rules write it
        usage.notes.append(f"summarizer_rules_fallback: {type(exc).__name__}")
        text = rules.summarize(request, rows, services.registry)
    return text, streamed_id


def final_answer(text: str, state: AgentState, plan: ExecutionPlan, rows: list[dict[str, Any]],
                 services: Services, message_id: str | None = None) -> dict[str, Any]:
    """The state update that ends a plan's turn with `text`: what no step did is named, rung timers first.
    `message_id`: the id the answer streamed under, kept for the stored message."""
    request = state.get("request") or plan.goal
    text += coverage.plan_note(request, plan.model_dump()["steps"], services.registry)  # name what no step did
    return {**answer(text, state, message_id=message_id), "metrics": {"duration_ms": elapsed_ms(state)}}
