"""The plan library reuses a plan only when the new request says everything the plan's arguments were taken from."""

from plangate.graph.engine.plan_library import instantiate, request_key, templatize


def timer_plan(label: str, seconds: int) -> dict:
    return {"goal": "", "steps": [{"id": 1, "tool": "timer.set_timer", "args": {"duration_s": seconds, "label": label}}]}


def test_slot_values_are_refilled_from_the_new_request():
    stored = templatize(timer_plan("tea", 180), "set a tea timer for 3 minutes")
    assert request_key("set a tea timer for 3 minutes") == request_key("set a tea timer for 5 minutes")
    plan = instantiate(stored, "set a tea timer for 5 minutes")
    assert plan is not None and plan["steps"][0]["args"] == {"duration_s": 300, "label": "tea"}


def test_words_with_digits_or_accents_are_part_of_the_key():
    assert request_key("set a round0 timer for 3 minutes") != request_key("set a round1 timer for 3 minutes")
    assert request_key("set a café timer for 3 minutes") != request_key("set a cafè timer for 3 minutes")


def test_a_label_the_new_request_does_not_say_is_never_reused():
    stored = templatize(timer_plan("round0", 180), "set a round0 timer for 3 minutes")
    assert instantiate(stored, "set a round1 timer for 3 minutes") is None
    assert instantiate(stored, "set a ROUND0 timer for 4 minutes") is not None


def test_plans_stored_before_literals_were_recorded_still_load():
    stored = templatize(timer_plan("tea", 180), "set a tea timer for 3 minutes")
    del stored["literals"]
    assert instantiate(stored, "set a tea timer for 5 minutes") is not None
