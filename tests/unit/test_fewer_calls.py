"""Issue 16, requirements 1 and 2: one model call on failure, and no summarizer call when the plan's answer
template says it all."""

import pytest

from plangate.graph.context import Context
from plangate.graph.engine.plan import PlanValidationError, validate_plan
from plangate.tools.registry import build_registry
from tests import scripted
from tests.fixtures.runner import one_backend
from tests.helpers import Recorder, config, user


def models_for(steps, *replans, answer=None, summary="summary text"):
    draft = {"goal": "scripted goal", "reasoning": "scripted", "steps": steps}
    if answer is not None:
        draft["answer"] = answer
    return {"weak": scripted.ScriptedChatModel(default=scripted.route("plan", "test", 0.99)),
            "default": scripted.ScriptedChatModel(default=summary),
            "strong": scripted.ScriptedChatModel(replies=[scripted.tool_call("PlanDraft", draft), *replans])}


async def run(runner, models, ctx=None, text="set it all up for me"):
    recorder = Recorder()
    runner.build(models=models, tools={"test": recorder.tools})
    out = await runner.run(user(text), config(), context=ctx or Context(router_mode="llm"))
    return out, recorder


def finish(answer, **extra):
    return scripted.tool_call("ReplanDecision", {"decision": {"action": "finish", "answer": answer, **extra}})


def echo(i, text, **extra):
    return {"id": i, "tool": "test.echo", "args": {"text": text}, **extra}


BROKEN = {"id": 2, "tool": "test.broken", "args": {"text": "bad"}}


async def test_a_failure_costs_one_model_call_that_writes_the_answer(runner):
    steps = [echo(1, "fine"), BROKEN, echo(3, "after {{step_2.text}}", depends_on=[2])]
    models = models_for(steps, finish("I echoed fine, but step 2 failed: broken cannot handle bad, so step 3 did not run."))
    out, recorder = await run(runner, models)
    assert out["messages"][-1].content.startswith("I echoed fine, but step 2 failed")
    assert models["default"].calls == []  # no summarizer call after the replanner's answer
    assert len(models["strong"].calls_for("ReplanDecision")) == 1
    results = out["step_results"]
    assert [results[i]["status"] for i in (1, 2, 3)] == ["completed", "failed", "skipped"]
    assert "needs failed" in results[3]["error"] and sorted(recorder.names()) == ["broken", "echo"]
    assert out["metrics"]["llm_calls"] == 3  # route, plan, replan-with-answer
    prompt = models["strong"].calls_for("ReplanDecision")[0]["messages"][-1].content
    assert "broken cannot handle bad" in prompt


async def test_the_replanner_schema_is_a_discriminated_union(runner):
    models = models_for([BROKEN | {"id": 1}], finish("Step 1 failed: broken cannot handle bad."))
    await run(runner, models)
    call = models["strong"].calls_for("ReplanDecision")[0]
    tool = models["strong"].calls_for("ReplanDecision")[0]["tools"]
    assert tool == ["ReplanDecision"] and call["tool_choice"]
    from plangate.graph.models.structured import tool_spec
    from plangate.nodes.replanner import ReplanDecision

    decision = tool_spec(ReplanDecision)["function"]["parameters"]["properties"]["decision"]
    assert decision["discriminator"]["propertyName"] == "action" and len(decision["oneOf"]) == 2


@one_backend
async def test_a_finish_without_an_answer_falls_back_to_the_summarizer(runner):
    models = models_for([echo(1, "fine"), BROKEN], scripted.replan("finish"))
    out, _ = await run(runner, models)
    assert out["messages"][-1].content == "summary text" and len(models["default"].calls) == 1


@one_backend
async def test_replacement_steps_run_then_one_summary(runner):
    replacement = [echo(3, "instead")]
    models = models_for([echo(1, "fine"), BROKEN], scripted.replan("replan", replacement), answer="{{step_1.message}}")
    out, recorder = await run(runner, models)
    assert out["step_results"][3]["status"] == "completed" and sorted(recorder.names()) == ["broken", "echo", "echo"]
    assert out["messages"][-1].content == "summary text" and len(models["default"].calls) == 1  # step 2 failed


async def test_an_answer_template_answers_with_no_summarizer_call(runner):
    steps = [echo(1, "tea timer"), echo(2, "dentist", depends_on=[1])]
    models = models_for(steps, answer="Done: {{step_1.message}} and {{step_2.text}}.")
    out, _ = await run(runner, models)
    assert out["messages"][-1].content == "Done: echo: tea timer and dentist."
    assert models["default"].calls == [] and out["metrics"]["llm_calls"] == 2  # route and plan only


@one_backend
async def test_templates_can_be_turned_off(runner):
    models = models_for([echo(1, "a")], answer="{{step_1.message}}")
    out, _ = await run(runner, models, ctx=Context(router_mode="llm", answer_templates=False))
    assert out["messages"][-1].content == "summary text" and len(models["default"].calls) == 1


@one_backend
async def test_a_template_with_a_field_the_output_lacks_gets_a_written_answer(runner):
    models = models_for([echo(1, "a")], answer="{{step_1.missing}}")
    out, _ = await run(runner, models)
    assert out["messages"][-1].content == "summary text"


@one_backend
async def test_a_failed_step_means_no_template(runner):
    models = models_for([echo(1, "a"), BROKEN], finish("Step 2 failed: broken cannot handle bad."), answer="{{step_1.message}}")
    out, _ = await run(runner, models)
    assert out["messages"][-1].content == "Step 2 failed: broken cannot handle bad."


@pytest.mark.parametrize(("template", "problem"), [
    ("{{step_3.message}}", "references {{step_3}}, which is not a step"),
    ("{{ step_one }}", "that is not a step reference"),
    ("   ", "an empty template"),
])
def test_templates_are_validated_like_args(template, problem):
    registry = build_registry({"test": Recorder().tools}, include_builtin_tools=False)
    plan = {"steps": [echo(1, "a"), echo(2, "b")], "answer": template}
    with pytest.raises(PlanValidationError) as error:
        validate_plan(plan, registry)
    assert any(problem in p for p in error.value.problems)


def test_a_valid_template_passes_validation():
    registry = build_registry({"test": Recorder().tools}, include_builtin_tools=False)
    plan = validate_plan({"steps": [echo(1, "a")], "answer": "Said {{step_1.text}} ({{ step_1 }})."}, registry)
    assert plan.answer == "Said {{step_1.text}} ({{ step_1 }})."


@one_backend
async def test_offline_action_plans_answer_from_their_template(runner):
    runner.build()
    out = await runner.run(user("set a tea timer for 3 minutes and add dentist tomorrow at 9am to my calendar"), config())
    assert out["plan"]["answer"] == "Done:\n- {{step_1.message}}\n- {{step_2.message}}"
    answer = out["messages"][-1].content
    assert answer.startswith("Done:\n- Timer 'tea' set for 3 min") and "dentist" in answer
    assert out["metrics"]["llm_calls"] == 1  # the offline planner; no summarizer call
