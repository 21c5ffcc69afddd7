"""approve_side_effects: side-effecting plan steps and fast-path calls pause in LangChain's HITL format; approve,
reject and edit resume them, with the exact `decisions` payloads agent-chat-ui sends, and with the short forms."""

from __future__ import annotations

from plangate.graph.context import Context
from plangate.tools.smart_home import DEFAULT_HOME
from tests.helpers import Recorder, config, user

CTX = Context(approve_side_effects="on")
APPROVE = {"decisions": [{"type": "approve"}]}  # what agent-chat-ui sends: one decision for the first action request
PLAN_REQUEST = "set a timer for 5 minutes and turn on the kitchen lights and unlock the back door"


async def device(runner, device_id: str) -> dict:
    """The device's state in the runner's store; the default home's until a tool has created the user's home."""
    item = await runner.store_get(("plangate", "home", "default"), device_id)
    return item.value["state"] if item else next(d["state"] for d in DEFAULT_HOME if d["id"] == device_id)


async def start(runner, text):
    cfg = config()
    out = await runner.run(user(text), cfg, context=CTX)
    assert "__interrupt__" in out, "expected a pause for approval"
    return cfg, out["__interrupt__"][0].value


async def resume(runner, cfg, decision):
    return await runner.resume(decision, cfg, context=CTX)


async def test_plan_pauses_before_side_effects_and_runs_them_when_approved(runner):
    cfg, request = await start(runner, PLAN_REQUEST)
    assert [a["name"] for a in request["action_requests"]] == ["smart_home.set_device", "smart_home.set_device"]
    assert request["action_requests"][0]["args"] == {"device": "kitchen lights", "state": "on"}
    assert request["action_requests"][0]["description"].startswith("step 2:")
    assert request["review_configs"] == [{"action_name": "smart_home.set_device", "allowed_decisions": ["approve", "edit", "reject"]}]
    assert await device(runner, "kitchen_light") == {"on": False, "brightness": 100}  # nothing happened before the answer
    out = await resume(runner, cfg, {"decisions": [{"type": "approve"}, {"type": "approve"}]})
    assert [out["step_results"][i]["status"] for i in (1, 2, 3)] == ["completed"] * 3
    assert (await device(runner, "kitchen_light"))["on"] is True and (await device(runner, "back_door"))["locked"] is False


async def test_plan_steps_rejected_are_skipped_with_the_reason(runner):
    cfg, _ = await start(runner, PLAN_REQUEST)
    out = await resume(runner, cfg, {"decisions": [{"type": "approve"}, {"type": "reject", "message": "not while I'm away"}]})
    results = out["step_results"]
    assert results[1]["status"] == "completed" and results[2]["status"] == "completed"
    assert results[3]["status"] == "skipped" and results[3]["error"] == "rejected by the user: not while I'm away"
    assert (await device(runner, "back_door"))["locked"] is True
    assert "not while I'm away" in out["messages"][-1].content


async def test_plan_step_edited_args_are_used_and_bad_edits_are_asked_again(runner):
    cfg, _ = await start(runner, PLAN_REQUEST)
    edit = {"type": "edit", "edited_action": {"name": "smart_home.set_device", "args": {"device": "bedroom light"}}}
    out = await resume(runner, cfg, {"decisions": [edit, {"type": "reject", "message": "no"}]})
    request = out["__interrupt__"][0].value  # the edit lacked `state`: both asked again, with the problem
    described = request["action_requests"][0]["description"]
    assert "not used: step 2" in described and "state" in described and len(request["action_requests"]) == 2
    edit["edited_action"]["args"]["state"] = "25"
    out = await resume(runner, cfg, {"decisions": [edit]})  # one decision: step 2 decided, step 3 asked again
    assert [a["args"] for a in out["__interrupt__"][0].value["action_requests"]] == [{"device": "back door", "state": "unlock"}]
    out = await resume(runner, cfg, {"3": {"decision": "reject", "reason": "no"}})  # plangate's per-step short form
    assert out["step_results"][2]["status"] == "completed"
    assert await device(runner, "bedroom_light") == {"on": True, "brightness": 25}
    assert (await device(runner, "kitchen_light"))["on"] is False  # the original args were not used
    assert out["step_results"][3]["status"] == "skipped"


async def test_fast_path_side_effect_becomes_a_one_step_plan_that_waits(runner):
    cfg, request = await start(runner, "unlock the front door")
    assert [(a["name"], a["args"]) for a in request["action_requests"]] == [
        ("smart_home.set_device", {"device": "front door", "state": "unlock"})]
    assert await device(runner, "front_door") == {"locked": True}
    out = await resume(runner, cfg, True)
    assert out["route"] == "fast" and out["step_results"][1]["status"] == "completed"
    assert out["messages"][-1].content == "Front door lock is unlocked."
    assert await device(runner, "front_door") == {"locked": False}


async def test_fast_path_reject_and_edit(runner):
    cfg, _ = await start(runner, "turn on the kitchen lights")
    out = await resume(runner, cfg, {"decision": "reject", "reason": "it's daytime"})
    assert out["step_results"][1]["status"] == "skipped" and "it's daytime" in out["messages"][-1].content
    assert (await device(runner, "kitchen_light"))["on"] is False
    cfg, _ = await start(runner, "turn on the kitchen lights")
    out = await resume(runner, cfg, {"decision": "edit", "args": {"device": "kitchen light", "state": "10%"}})  # short form
    assert out["messages"][-1].content == "Kitchen light is on at 10%."
    assert await device(runner, "kitchen_light") == {"on": True, "brightness": 10}


async def test_tools_without_side_effects_never_pause(runner):
    out = await runner.run(user("is the front door locked?"), config(), context=CTX)
    assert "__interrupt__" not in out and out["messages"][-1].content == "Front door lock is locked."


async def test_a_resume_without_the_approval_context_cannot_skip_the_pending_approval(runner):
    """The approval policy is fixed when the turn starts; a resume that omits approve_plans still needs a decision."""
    recorder = Recorder()
    runner.build(tools={"test": recorder.tools})
    cfg = config()
    plan = {"steps": [{"id": 1, "tool": "test.echo", "args": {"text": "guarded"}}]}
    await runner.run({**user("run it"), "plan": plan}, cfg, context=Context(approve_plans=True))
    assert (await runner.state(cfg)).interrupts
    out = await runner.resume({"decision": "reject", "reason": "no"}, cfg)  # default Context: no approve_plans
    assert recorder.calls == [] and "Plan rejected" in out["messages"][-1].content
