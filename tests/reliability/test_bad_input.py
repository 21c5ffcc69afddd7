"""Bad user input: a clear error naming the field, before any model call, and never a stack trace.

Checked twice: through graph.invoke (the answer and `error`, or a ContextError raised when the Context
is made) and through the `plangate` console script in a subprocess (one error line, no traceback).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from plangate.graph.context import Context, ContextError
from tests import scripted
from tests.helpers import config, make_graph, user
from tests.reliability.crashkit import PLANGATE


def _models():
    """Scripted tiers that record every call; tests assert none was made."""
    return {tier: scripted.ScriptedChatModel(default="should not be called") for tier in ("weak", "default", "strong")}


def _invoke(payload, **ctx):
    models = _models()
    graph, cfg = make_graph(models=models), config()
    graph.invoke(payload, cfg, context=Context(**{"router_mode": "llm", **ctx}))
    return graph.get_state(cfg).values, sum(len(m.calls) for m in models.values())  # every key, internal ones too


BAD_MESSAGES = {
    "empty": (user(""), "messages[-1].content: the message is empty"),
    "whitespace": (user("  \n\t  "), "messages[-1].content: the message is empty"),
    "one-megabyte": (user("a" * 1_000_000), "1000000 characters is over the limit of 20000 (Context.max_input_chars)"),
    "only-control-characters": (user("\x00\x07\x1b[31m\x1b[0m\u200b"), "the message is empty"),
    "image-only": ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}]},
                   "messages[-1].content: no text found (content blocks: image_url)"),
    "text-block-without-text": ({"messages": [{"role": "user", "content": [{"type": "text"}]}]}, "no text found"),
    "ends-with-ai-message": ({"messages": [HumanMessage("hi"), AIMessage("hello")]},
                             "messages: the last message must come from the user, got a ai message"),
    "no-messages": ({}, "messages: send at least one user message"),
    "plan-is-a-string": ({"messages": [HumanMessage("x")], "plan": "do things"}, "plan: expected an ExecutionPlan object, got str"),
    "plan-is-a-list": ({"messages": [HumanMessage("x")], "plan": [{"id": 1}]}, "plan: expected an ExecutionPlan object, got list"),
    "plan-unknown-keys": ({"messages": [HumanMessage("x")], "plan": {"stepz": []}}, "stepz: Extra inputs are not permitted"),
    "plan-steps-not-a-list": ({"messages": [HumanMessage("x")], "plan": {"steps": "set a timer"}}, "steps: Input should be a valid list"),
    "plan-bad-step": ({"messages": [HumanMessage("x")], "plan": {"steps": [{"id": 1, "tool": "settimer", "args": {}}]}},
                      "tool must be 'domain.tool_name'"),
    "plan-unknown-tool": ({"messages": [HumanMessage("x")], "plan": {"steps": [{"id": 1, "tool": "door.unlock"}]}},
                          "unknown tool 'door.unlock'"),
}


@pytest.mark.parametrize("case", list(BAD_MESSAGES))
def test_bad_input_is_a_clear_answer_before_any_model_call(case):
    payload, expected = BAD_MESSAGES[case]
    out, model_calls = _invoke(payload)
    assert model_calls == 0 and out["metrics"]["llm_calls"] == 0
    assert expected in out["error"] and expected in out["messages"][-1].content
    assert out["messages"][-1].content.startswith("I can't run that:") and "Traceback" not in out["messages"][-1].content


def test_control_characters_and_escape_sequences_are_removed_from_the_request():
    out, _ = _invoke(user("set a \x1b[1mtea\x1b[0m timer for 3 minutes\x07\x00\u202e"), router_mode="rules")
    assert out["request"] == "set a tea timer for 3 minutes"
    assert "3 min" in out["messages"][-1].content  # not 34 min from a stray "[1m" / "[0m"


async def test_lone_surrogates_are_dropped_and_the_thread_is_saved_and_readable(runner):
    """On every checkpointer: text a database cannot encode never reaches it."""
    cfg = config()
    out = await runner.run(user("set a timer \ud800 for 5 \udcff minutes"), cfg)
    assert (await runner.state(cfg)).values["request"] == "set a timer  for 5  minutes" and "5 min" in out["messages"][-1].content
    await runner.restart()
    assert (await runner.state(cfg)).values["messages"][-1].content == out["messages"][-1].content


CONTEXT_ERRORS = [
    ({"fast_threshold": 0.5, "plan_threshold": 0.7}, "fast_threshold", "must be >= plan_threshold"),
    ({"fast_threshold": 1.5}, "fast_threshold", "between 0 and 1"),
    ({"plan_threshold": float("nan")}, "plan_threshold", "between 0 and 1"),
    ({"step_timeout_s": -1}, "step_timeout_s", "must be > 0"),
    ({"plan_timeout_s": 0}, "plan_timeout_s", "must be > 0"),
    ({"model_timeout_s": -0.5}, "model_timeout_s", "must be > 0"),
    ({"max_replans": -1}, "max_replans", "must be >= 0"),
    ({"max_parallel_steps": 0}, "max_parallel_steps", "must be >= 1"),
    ({"max_input_chars": 0}, "max_input_chars", "must be >= 1"),
    ({"router_mode": "psychic"}, "router_mode", "cascade, llm or rules"),
    ({"max_replans": "2"}, "max_replans", "expected int"),
]


@pytest.mark.parametrize(("values", "field", "text"), CONTEXT_ERRORS, ids=[c[1] + "-" + c[2][:12] for c in CONTEXT_ERRORS])
def test_context_out_of_range_names_the_field(values, field, text):
    with pytest.raises(ContextError, match=text) as raised:
        Context(**values)
    assert raised.value.field_name == field and str(raised.value).startswith(f"Context.{field}:")
    models = _models()  # the same values sent as a dict (Studio, the SDK) fail before any model call
    with pytest.raises((ContextError, TypeError), match=field):
        make_graph(models=models).invoke(user("set a timer for 1 minute"), config(), context=values)
    assert sum(len(m.calls) for m in models.values()) == 0


def _cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PLANGATE_", "OPENAI_"))}
    base.update(PLANGATE_HOME=str(tmp_path / "home"), PLANGATE_DB=str(tmp_path / "cli.sqlite"), **env)
    return subprocess.run([str(PLANGATE), *args], capture_output=True, text=True, env=base, timeout=120, cwd=tmp_path)


CLI_CASES = [
    ("empty", [""], {}, "the message is empty"),
    ("whitespace", ["   "], {}, "the message is empty"),
    ("too-long", ["a" * 100_000], {}, "over the limit of 20000 (Context.max_input_chars)"),
    ("fast-below-plan", ["set a timer for 1 minute"], {"PLANGATE_FAST_THRESHOLD": "0.5"}, "Context.fast_threshold"),
    ("negative-timeout", ["set a timer for 1 minute"], {"PLANGATE_STEP_TIMEOUT_S": "-1"}, "Context.step_timeout_s"),
    ("not-a-number", ["set a timer for 1 minute"], {"PLANGATE_MODEL_TIMEOUT_S": "soon"}, "PLANGATE_MODEL_TIMEOUT_S"),
    ("not-an-int", ["set a timer for 1 minute"], {"PLANGATE_MAX_REPLANS": "1.5"}, "PLANGATE_MAX_REPLANS"),
    ("bad-router-mode", ["set a timer for 1 minute"], {"PLANGATE_ROUTER_MODE": "psychic"}, "Context.router_mode"),
]


@pytest.mark.parametrize(("case", "args", "env", "text"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input_is_one_clear_line(tmp_path, case, args, env, text):
    input_error = case in ("empty", "whitespace", "too-long")
    done = _cli(tmp_path, "--json", *args, **env) if input_error else _cli(tmp_path, *args, **env)
    output = done.stdout + done.stderr
    assert done.returncode != 0 and text in output
    assert "Traceback" not in output and 'File "' not in output
    if input_error:  # the thread records the refusal, made before any model call
        report = json.loads(done.stdout)
        assert report["metrics"]["llm_calls"] == 0 and text in report["error"]


def test_cli_strips_escape_sequences_and_invalid_utf8(tmp_path):
    colored = _cli(tmp_path, "--json", "set a timer for 10 minutes\x07\x1b[31m")
    assert colored.returncode == 0 and "10 min" in colored.stdout and "41 min" not in colored.stdout
    invalid = subprocess.run([str(PLANGATE), "--json", os.fsdecode(b"set a timer \xff\xfe for 4 minutes")], capture_output=True,
                             text=True, timeout=120, cwd=tmp_path,
                             env={"PATH": os.environ["PATH"], "PLANGATE_DB": str(tmp_path / "u.sqlite"),
                                  "PLANGATE_HOME": str(tmp_path / "home")})
    assert invalid.returncode == 0 and "4 min" in invalid.stdout and "Traceback" not in invalid.stderr
