import pytest

from plangate.graph.engine.plan import ExecutionPlan, PlanValidationError, validate_plan
from plangate.tools.registry import build_registry

REGISTRY = build_registry()


def step(i, tool="timer.set_timer", args=None, **extra):
    return {"id": i, "tool": tool, "args": {"duration_s": 60} if args is None else args, **extra}


def problems(steps, **kwargs):
    with pytest.raises(PlanValidationError) as info:
        validate_plan({"goal": "g", "steps": steps}, REGISTRY, **kwargs)
    return info.value.problems


def test_a_valid_plan_passes():
    plan = validate_plan({"goal": "g", "steps": [step(1), step(2, "timer.list_timers", {}, depends_on=[1])]}, REGISTRY)
    assert isinstance(plan, ExecutionPlan) and plan.version == 1 and len(plan.plan_id) == 12


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([step(1), step(3)], "sequential"),
        ([step(1, depends_on=[1])], "depends on itself"),
        ([step(1, depends_on=[2]), step(2)], "not an earlier step"),
        ([step(1, "timer.nope")], "unknown tool"),
        ([step(1, "timerset")], "domain.tool_name"),
        ([step(1, args={"duration_s": "soon"})], "duration_s"),
        ([step(1, args={"duration_s": 60, "colour": "red"})], "colour"),
        ([step(1, args={"label": "{{step_2}}", "duration_s": 5}), step(2)], "{{step_2}}"),
        ([step(1), step(2, type="fallback")], "needs fallback_for"),
        ([step(1), step(2, type="fallback", fallback_for=3), step(3)], "fallback_for 3"),
        ([step(1), step(2, fallback_for=1)], "type is 'normal'"),
        ([step(1), step(2, type="conditional")], "needs a condition"),
        ([step(1, type="conditional", condition={"step": 2, "op": "succeeded"}), step(2)], "condition refers to step 2"),
        ([step(1), step(2, type="conditional", condition={"step": 1, "op": "gt", "value": "big"})], "needs a number"),
        ([step(1, condition={"step": 1, "op": "bogus"})], "condition.op"),
        ([], "at least one step"),
    ],
)
def test_each_rule_has_a_failing_example(steps, expected):
    found = problems(steps)
    assert any(expected in p for p in found), found


def test_every_problem_is_listed_at_once():
    found = problems([step(1, "timer.nope"), step(3, depends_on=[7])])
    assert len(found) >= 3
    message = str(PlanValidationError(found))
    assert message.startswith("invalid plan:") and message.count("\n- ") == len(found)


def test_too_many_steps_is_rejected_early():
    found = problems([step(i) for i in range(1, 501)], max_steps=30)
    assert found == ["steps: 500 steps is more than the limit of 30"]


def test_not_an_object():
    with pytest.raises(PlanValidationError, match="must be an object"):
        validate_plan(["step"], REGISTRY)


def test_references_to_earlier_steps_skip_type_checks_until_resolved():
    plan = validate_plan({"steps": [step(1), step(2, args={"duration_s": "{{step_1.timer.duration_s}}"}, depends_on=[1])]}, REGISTRY)
    assert plan.steps[1].references() == {1}


def test_loop_condition_may_test_its_own_step():
    plan = validate_plan({"steps": [step(1, type="loop", loop_count=3, condition={"step": 1, "op": "succeeded"})]}, REGISTRY)
    assert plan.steps[0].loop_count == 3
