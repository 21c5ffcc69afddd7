"""The plan executor: supersteps, references, retries, timeouts, replans and summaries."""

from plangate.graph.context import Context
from tests import scripted
from tests.fixtures.runner import one_backend
from tests.helpers import Recorder, config, user


def plan_models(steps, *replan_replies, summary="summary text"):
    strong = scripted.ScriptedChatModel(replies=[scripted.plan(steps), *replan_replies])
    weak = scripted.ScriptedChatModel(default=scripted.route("plan", "test", 0.99))
    default = scripted.ScriptedChatModel(default=summary)
    return {"weak": weak, "default": default, "strong": strong}


async def run_plan(runner, steps, *replans, recorder=None, ctx=None):
    recorder = recorder or Recorder()
    models = plan_models(steps, *replans)
    runner.build(models=models, tools={"test": recorder.tools})
    cfg = config()
    out = await runner.run(user("please run the scripted plan"), cfg, context=ctx or Context(router_mode="llm"))
    return out, recorder, models, cfg


def echo(i, text, **extra):
    return {"id": i, "tool": "test.echo", "args": {"text": text}, **extra}


async def test_a_whole_dag_is_one_wave_of_run_step_tasks(runner):
    steps = [echo(1, "a"), echo(2, "b"), echo(3, "{{step_1.text}}+{{step_2.text}}", depends_on=[1, 2])]
    out, recorder, _, cfg = await run_plan(runner, steps)
    assert [out["step_results"][i]["status"] for i in (1, 2, 3)] == ["completed"] * 3
    assert out["step_results"][3]["output"]["text"] == "a+b"
    waves = [sorted(t.name for t in snap.tasks) for snap in await runner.history(cfg) if any(t.name == "run_step" for t in snap.tasks)]
    assert waves == [["run_step"] * 3]  # step 3 waits in the same superstep for steps 1 and 2


@one_backend
async def test_whole_value_reference_keeps_its_type(runner):
    steps = [{"id": 1, "tool": "test.number", "args": {"value": 2.5}},
             {"id": 2, "tool": "test.number", "args": {"value": "{{step_1}}"}, "depends_on": [1]}]
    out, recorder, *_ = await run_plan(runner, steps)
    assert out["step_results"][2]["output"] == 2.5
    assert recorder.calls[-1] == ("number", {"value": 2.5})


async def test_retry_then_success_with_backoff(runner, no_sleep):
    recorder = Recorder()
    recorder.failures["x"] = 2
    out, *_ = await run_plan(runner, [{"id": 1, "tool": "test.flaky", "args": {"text": "x"}, "retries": 2}], recorder=recorder)
    result = out["step_results"][1]
    assert result["status"] == "completed" and result["attempts"] == 3
    assert len(no_sleep) == 2 and no_sleep[1] > no_sleep[0] * 1.3  # exponential


async def test_validation_errors_are_never_retried(runner, no_sleep):
    out, recorder, *_ = await run_plan(runner, [{"id": 1, "tool": "test.broken", "args": {"text": "x"}, "retries": 3}], scripted.replan("finish"))
    assert out["step_results"][1]["attempts"] == 1 and recorder.names() == ["broken"] and no_sleep == []


async def test_timeout_then_failure_then_replan(runner, no_sleep):
    steps = [{"id": 1, "tool": "test.slow", "args": {"seconds": 2}, "timeout_s": 0.2, "retries": 0}, echo(2, "kept")]
    replacement = [{"id": 3, "tool": "test.echo", "args": {"text": "instead of slow, after {{step_2.text}}"}, "depends_on": [2]}]
    out, recorder, models, cfg = await run_plan(runner, steps, scripted.replan("replan", replacement))
    results = out["step_results"]
    assert results[1]["status"] == "failed" and "within 0.2s" in results[1]["error"]
    assert results[3]["status"] == "completed" and results[3]["output"]["text"] == "instead of slow, after kept"
    assert recorder.names().count("echo") == 2  # step 2 was not re-run by the replan
    assert out["plan"]["version"] == 2 and out["metrics"]["replans"] == 1
    assert (await runner.state(cfg)).values["plan_history"][-1]["diff"]["added"] == [3]
    state_seen = models["strong"].calls_for("ReplanDecision")[0]["messages"][-1].content
    assert "within 0.2s" in state_seen  # the replanner saw the error


async def test_replans_are_bounded(runner, no_sleep):
    again = lambda n: scripted.replan("replan", [{"id": n, "tool": "test.broken", "args": {"text": "again"}}])  # noqa: E731
    out, recorder, models, _ = await run_plan(runner, [{"id": 1, "tool": "test.broken", "args": {"text": "x"}}],
                                              again(2), again(3), again(4), ctx=Context(router_mode="llm", max_replans=2))
    assert len(models["strong"].calls_for("ReplanDecision")) == 2
    assert out["metrics"]["replans"] == 2 and recorder.names().count("broken") == 3


async def test_summarizer_names_the_failed_step(runner):
    out, _, models, _ = await run_plan(runner, [echo(1, "fine"), {"id": 2, "tool": "test.broken", "args": {"text": "bad"}}], scripted.replan("finish"))
    prompt = models["default"].calls[-1]["messages"][-1].content
    assert '"status": "failed"' in prompt and "broken cannot handle bad" in prompt
    assert out["messages"][-1].content == "summary text"


async def test_offline_summary_names_failures_in_words(runner):
    recorder = Recorder()
    runner.build(tools={"test": recorder.tools})
    plan = {"goal": "g", "steps": [echo(1, "fine"), {"id": 2, "tool": "test.broken", "args": {"text": "bad"}, "description": "Break things"}]}
    out = await runner.run({"messages": [{"role": "user", "content": "go"}], "plan": plan}, config(), context=Context(max_replans=0))
    answer = out["messages"][-1].content
    assert "echo: fine" in answer and "break things" in answer.lower() and "broken cannot handle bad" in answer


@one_backend
async def test_explicit_plan_input_skips_router_and_planner(runner):
    recorder = Recorder()
    models = plan_models([])
    runner.build(models=models, tools={"test": recorder.tools})
    out = await runner.run({"messages": [{"role": "user", "content": "x"}], "plan": {"goal": "given", "steps": [echo(1, "hi")]}}, config())
    assert out["route_reason"].startswith("explicit plan") and out["step_results"][1]["status"] == "completed"
    assert models["weak"].calls == [] and models["strong"].calls == []


@one_backend
async def test_explicit_invalid_plan_is_a_clear_answer_and_runs_nothing(runner):
    recorder = Recorder()
    runner.build(tools={"test": recorder.tools})
    bad = {"steps": [{"id": 1, "tool": "test.nope", "args": {}}]}
    out = await runner.run({"messages": [{"role": "user", "content": "x"}], "plan": bad}, config())
    assert "unknown tool 'test.nope'" in out["messages"][-1].content and recorder.calls == []


@one_backend
async def test_planner_repair_loop_is_bounded_then_answers_clearly(runner):
    bad = scripted.plan([{"id": 1, "tool": "test.missing", "args": {}}])
    models = plan_models([])
    models["strong"].replies = [bad, bad, bad, bad]
    runner.build(models=models, tools={"test": Recorder().tools})
    out = await runner.run(user("plan something"), config(), context=Context(router_mode="llm", max_repairs=2))
    assert len(models["strong"].calls_for("PlanDraft")) == 3
    # repairs exhausted: the rules plan the request instead, and say why
    assert "the rules planned it" in out["route_reason"] and out["metrics"]["fallbacks"] == ["planner_rules_fallback"]
    assert "test.missing" in out["route_reason"] and out["step_results"][1]["status"] == "completed"


@one_backend
async def test_planner_repair_succeeds_with_feedback(runner):
    bad = scripted.plan([{"id": 1, "tool": "test.echo", "args": {}}])
    models = plan_models([])
    models["strong"].replies = [bad, scripted.plan([echo(1, "fixed")])]
    runner.build(models=models, tools={"test": Recorder().tools})
    out = await runner.run(user("plan something"), config(), context=Context(router_mode="llm"))
    feedback = models["strong"].calls[1]["messages"]
    assert any("text" in str(m.content) and "required" in str(m.content).lower() for m in feedback)
    assert out["step_results"][1]["output"]["text"] == "fixed" and out["metrics"]["repairs"] == 1


async def test_a_new_message_on_an_interrupted_thread_is_routed_not_mistaken_for_a_plan_input(runner):
    recorder = Recorder()
    runner.build(tools={"test": recorder.tools})
    cfg = config()
    await runner.run(user("set a timer for 5 minutes and then list my timers"), cfg, context=Context(approve_plans=True))
    assert (await runner.state(cfg)).interrupts  # paused before the plan ran
    out = await runner.run(user("set a tea timer for 2 minutes"), cfg)
    assert out["route"] == "fast" and out["plan"] is None
    assert "tea" in out["messages"][-1].content


async def test_timers_that_rang_are_reported_once_on_the_next_turn(runner):
    from datetime import timedelta

    from plangate.tools.runtime import now

    rung = {"id": "t1", "label": "tea", "duration_s": 60, "created_at": (now() - timedelta(minutes=2)).isoformat(),
            "ends_at": (now() - timedelta(minutes=1)).isoformat(timespec="seconds")}
    await runner.store_put(("plangate", "timers", "default"), "t1", rung)
    first = await runner.run(user("set a timer for 5 minutes"), config())
    second = await runner.run(user("set a timer for 6 minutes"), config())
    assert "tea" in first["messages"][-1].content and "rang at" in first["messages"][-1].content
    assert "rang at" not in second["messages"][-1].content


def test_provider_errors_from_a_model_step_are_classified_by_status():
    import httpx
    import openai

    from plangate.graph.engine.step_runner import is_retryable

    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")

    def status(code):
        return openai.APIStatusError("x", response=httpx.Response(code, request=request), body=None)

    assert is_retryable(status(429)) and is_retryable(status(503))
    assert not is_retryable(status(400)) and not is_retryable(status(401))
    assert is_retryable(openai.APIConnectionError(request=request))


@one_backend
async def test_a_summary_that_parrots_the_instructions_is_replaced_by_the_rules_answer(runner):
    from plangate.nodes.prompts import SUMMARIZER

    parrot = SUMMARIZER.strip().splitlines()[-1]
    out, *_ = await run_plan(runner, [echo(1, "hello")])
    assert out["messages"][-1].content == "summary text"
    models = plan_models([echo(1, "hello")])
    models["default"] = scripted.ScriptedChatModel(default=parrot)
    runner.build(models=models, tools={"test": Recorder().tools})
    out = await runner.run(user("say hello"), config(), context=Context(router_mode="llm"))
    assert "echo: hello" in out["messages"][-1].content
    assert any("parroted" in note for note in out["metrics"]["fallbacks"])
