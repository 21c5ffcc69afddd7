"""approve_side_effects: side-effecting plan steps and fast-path calls pause; approve, reject and edit resume them."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command

from plangate.graph.context import Context
from plangate.tools.smart_home import DEFAULT_HOME
from tests.helpers import config, make_graph, user

CTX = Context(approve_side_effects=True)
PLAN_REQUEST = "set a timer for 5 minutes and turn on the kitchen lights and unlock the back door"


@pytest.fixture
def home():
    """A graph with InMemorySaver, its Store, and a reader of device state in that Store."""
    store = InMemoryStore()
    graph = make_graph(checkpointer=InMemorySaver(), store=store)

    def device(device_id: str) -> dict:
        """The device's state; the default home's until a tool has created the user's home."""
        item = store.get(("plangate", "home", "default"), device_id)
        return item.value["state"] if item else next(d["state"] for d in DEFAULT_HOME if d["id"] == device_id)

    return graph, store, device


def start(graph, text):
    cfg = config()
    out = graph.invoke(user(text), cfg, context=CTX)
    assert "__interrupt__" in out, "expected a pause for approval"
    return cfg, out["__interrupt__"][0].value


def resume(graph, cfg, decision):
    return graph.invoke(Command(resume=decision), cfg, context=CTX)


def test_plan_pauses_before_side_effects_and_runs_them_when_approved(home):
    graph, _, device = home
    cfg, request = start(graph, PLAN_REQUEST)
    assert request["type"] == "approve_steps"
    assert [(s["id"], s["tool"]) for s in request["steps"]] == [(2, "smart_home.set_device"), (3, "smart_home.set_device")]
    assert request["steps"][0]["args"] == {"device": "kitchen lights", "state": "on"}
    assert device("kitchen_light") == {"on": False, "brightness": 100}  # nothing happened before the answer
    out = resume(graph, cfg, "approve")
    assert [out["step_results"][i]["status"] for i in (1, 2, 3)] == ["completed"] * 3
    assert device("kitchen_light")["on"] is True and device("back_door")["locked"] is False


def test_plan_steps_rejected_are_skipped_with_the_reason(home):
    graph, _, device = home
    cfg, _ = start(graph, PLAN_REQUEST)
    out = resume(graph, cfg, {"2": "approve", "3": {"decision": "reject", "reason": "not while I'm away"}})
    results = out["step_results"]
    assert results[1]["status"] == "completed" and results[2]["status"] == "completed"
    assert results[3]["status"] == "skipped" and results[3]["error"] == "rejected by the user: not while I'm away"
    assert device("back_door")["locked"] is True
    assert "not while I'm away" in out["messages"][-1].content


def test_plan_step_edited_args_are_used_and_bad_edits_are_asked_again(home):
    graph, _, device = home
    cfg, _ = start(graph, PLAN_REQUEST)
    out = resume(graph, cfg, {"2": {"decision": "edit", "args": {"device": "bedroom light"}}, "3": "reject"})
    request = out["__interrupt__"][0].value  # the edit lacked `state`: asked again, with the problem
    assert "step 2" in request["problem"] and "state" in request["problem"]
    assert [s["id"] for s in request["steps"]] == [2]
    out = resume(graph, cfg, {"decision": "edit", "args": {"device": "bedroom light", "state": "25"}})
    assert out["step_results"][2]["status"] == "completed"
    assert device("bedroom_light") == {"on": True, "brightness": 25}
    assert device("kitchen_light")["on"] is False  # the original args were not used
    assert out["step_results"][3]["status"] == "skipped"


def test_fast_path_side_effect_becomes_a_one_step_plan_that_waits(home):
    graph, _, device = home
    cfg, request = start(graph, "unlock the front door")
    assert [(s["id"], s["tool"], s["args"]) for s in request["steps"]] == [
        (1, "smart_home.set_device", {"device": "front door", "state": "unlock"})]
    assert device("front_door") == {"locked": True}
    out = resume(graph, cfg, True)
    assert out["route"] == "fast" and out["step_results"][1]["status"] == "completed"
    assert out["messages"][-1].content == "Front door lock is unlocked."
    assert device("front_door") == {"locked": False}


def test_fast_path_reject_and_edit(home):
    graph, _, device = home
    cfg, _ = start(graph, "turn on the kitchen lights")
    out = resume(graph, cfg, {"decision": "reject", "reason": "it's daytime"})
    assert out["step_results"][1]["status"] == "skipped" and "it's daytime" in out["messages"][-1].content
    assert device("kitchen_light")["on"] is False
    cfg, _ = start(graph, "turn on the kitchen lights")
    out = resume(graph, cfg, {"decision": "edit", "args": {"device": "kitchen light", "state": "10%"}})
    assert out["messages"][-1].content == "Kitchen light is on at 10%."
    assert device("kitchen_light") == {"on": True, "brightness": 10}


def test_tools_without_side_effects_never_pause(home):
    graph, _, _ = home
    out = graph.invoke(user("is the front door locked?"), config(), context=CTX)
    assert "__interrupt__" not in out and out["messages"][-1].content == "Front door lock is locked."


def test_a_resume_without_the_approval_context_cannot_skip_the_pending_approval():
    """The approval policy is fixed when the turn starts; a resume that omits approve_plans still needs a decision."""
    from langgraph.types import Command

    from plangate.graph.context import Context
    from tests.helpers import Recorder, config, make_graph, user

    recorder = Recorder()
    graph = make_graph(tools={"test": recorder.tools})
    cfg = config()
    plan = {"steps": [{"id": 1, "tool": "test.echo", "args": {"text": "guarded"}}]}
    graph.invoke({**user("run it"), "plan": plan}, cfg, context=Context(approve_plans=True))
    assert graph.get_state(cfg).interrupts
    out = graph.invoke(Command(resume={"decision": "reject", "reason": "no"}), cfg)  # default Context: no approve_plans
    assert recorder.calls == [] and "Plan rejected" in out["messages"][-1].content
