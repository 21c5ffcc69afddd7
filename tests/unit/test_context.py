import pytest

from plangate.graph.context import Context, ContextError, coerce_context


def test_defaults_match_the_design_card():
    ctx = Context()
    assert (ctx.fast_threshold, ctx.plan_threshold, ctx.router_mode) == (0.95, 0.70, "cascade")
    assert (ctx.max_replans, ctx.max_parallel_steps, ctx.step_retries) == (2, 4, 2)
    assert (ctx.step_timeout_s, ctx.plan_timeout_s) == (30.0, 300.0)
    assert ctx.approve_plans is False and ctx.approve_side_effects == "replanned" and ctx.high_risk_devices == "lock"


@pytest.mark.parametrize(("value", "mode"), [(True, "on"), (False, "off"), ("replanned", "replanned"), ("ON", "on"), ("1", "on"),
                                           ("no", "off")])
def test_approve_side_effects_has_three_values_and_takes_the_old_booleans(value, mode):
    assert Context(approve_side_effects=value).approve_side_effects == mode


def test_approve_side_effects_refuses_other_words(monkeypatch):
    with pytest.raises(ContextError, match="approve_side_effects: must be on, replanned or off"):
        Context(approve_side_effects="sometimes")
    monkeypatch.setenv("PLANGATE_APPROVE_SIDE_EFFECTS", "true")
    assert Context.from_env().approve_side_effects == "on"


def test_env_fallbacks_and_explicit_values_win(monkeypatch):
    monkeypatch.setenv("PLANGATE_FAST_THRESHOLD", "0.9")
    monkeypatch.setenv("PLANGATE_APPROVE_PLANS", "yes")
    monkeypatch.setenv("PLANGATE_ROUTER_MODE", "rules")
    ctx = Context.from_env()
    assert ctx.fast_threshold == 0.9 and ctx.approve_plans is True and ctx.router_mode == "rules"
    assert Context.from_env(fast_threshold=0.99).fast_threshold == 0.99


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"fast_threshold": 0.5, "plan_threshold": 0.7}, "fast_threshold"),
        ({"plan_threshold": 1.5}, "plan_threshold"),
        ({"step_timeout_s": -1}, "step_timeout_s"),
        ({"plan_timeout_s": 0}, "plan_timeout_s"),
        ({"router_mode": "magic"}, "router_mode"),
        ({"max_parallel_steps": 0}, "max_parallel_steps"),
        ({"max_replans": "2"}, "max_replans"),
    ],
)
def test_bad_values_name_the_field(kwargs, field):
    with pytest.raises(ContextError) as info:
        Context(**kwargs)
    assert info.value.field_name == field
    assert f"Context.{field}" in str(info.value)


def test_bad_env_value_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PLANGATE_MAX_REPLANS", "lots")
    with pytest.raises(ContextError, match="PLANGATE_MAX_REPLANS"):
        Context.from_env()


def test_coerce_accepts_dicts_and_rejects_unknown_fields():
    assert coerce_context({"max_replans": 1}).max_replans == 1
    with pytest.raises(ContextError, match="unknown field"):
        coerce_context({"api_key": "sk-secret"})


def test_no_secret_fields():
    names = {row["name"] for row in Context.describe()}
    assert not any("key" in n or "token" in n or "secret" in n for n in names)


def test_recursion_limit_grows_with_the_bounds():
    assert Context(max_replans=4).recursion_limit() > Context().recursion_limit() > 100
