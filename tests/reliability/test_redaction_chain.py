"""A model server that echoes the key in its error body (issue 13, row 5): the key reaches no log, traceback or
output, at the default log level or with PLANGATE_DEBUG=1, even through an exception's `__cause__`/`__context__`
(langchain-openai re-raises openai's error `from` it, and LangGraph's retry log prints the whole chain)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from plangate.graph.redact import redact_exception
from tests.helpers import Recorder, config, make_graph, user
from tests.reliability.conftest import endpoint_context, plangate_responder
from tests.reliability.fake_openai import Fail

KEY = "sk-echoed-secret-7d1f0c9a55"
ECHO = f'{{"error": {{"message": "Incorrect API key provided: {KEY}", "type": "server_error"}}}}'
PLANGATE = Path(sys.executable).with_name("plangate")


class ProviderError(Exception):
    def __init__(self, message: str, body: dict) -> None:
        super().__init__(message)
        self.message, self.body = message, body


def test_every_exception_in_the_chain_is_redacted(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    try:
        try:
            try:
                raise KeyError(f"lookup {KEY}")
            except KeyError:
                raise ProviderError(f"Error code: 500 - {KEY}", {"error": KEY}) from ValueError("inner", KEY)
        except ProviderError as err:
            raise RuntimeError("wrapped", err) from err
    except RuntimeError as exc:
        exc.add_note(f"note {KEY}")
        redact_exception(exc)
        printed = "".join(traceback.format_exception(exc))
    assert KEY not in printed and printed.count("[redacted]") >= 4


def _echoing(server):
    good = plangate_responder(steps=[{"id": 1, "tool": "test.broken", "args": {"text": "x"}}])
    server.responder = lambda body: Fail(500, body=ECHO) if "ReplanDecision" in str(body.get("tool_choice")) else good(body)


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
def test_the_retry_log_and_the_raised_error_hold_no_key(server, monkeypatch, caplog, level):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("PLANGATE_ALLOWED_BASE_URLS", server.base_url)
    caplog.set_level(level)
    _echoing(server)
    with pytest.raises(Exception) as raised:  # the replanner's 500 outlives its retries: the run stops, resumable
        make_graph(tools={"test": Recorder().tools}).invoke(user("run the broken tool"), config(),
                                                            context=endpoint_context(server, model_max_retries=0))
    assert "Retrying task replanner" in caplog.text or level > logging.INFO  # LangGraph's retry line was written
    assert "[redacted]" in caplog.text + str(raised.value)  # the echo reached us, masked
    assert KEY not in caplog.text
    assert KEY not in "".join(traceback.format_exception(raised.value))
    auth = {k.lower(): v for r in server.requests for k, v in r["headers"].items()}.get("authorization")
    assert auth == f"Bearer {KEY}"  # the key really was sent to this (allowed) server


@pytest.mark.parametrize("debug", ["", "1"])
def test_the_cli_prints_no_key_with_or_without_debug(server, tmp_path, debug):
    steps = [{"id": 1, "tool": "timer.cancel_timer", "args": {"label": "pasta"}}]
    good = plangate_responder(steps=steps, domain="timer")
    server.responder = lambda body: Fail(500, body=ECHO) if "ReplanDecision" in str(body.get("tool_choice")) else good(body)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PLANGATE_", "OPENAI_"))}
    env.update(OPENAI_API_KEY=KEY, PLANGATE_BASE_URL=server.base_url, PLANGATE_DB=str(tmp_path / "cli.sqlite"),
               PLANGATE_HOME=str(tmp_path), PLANGATE_MODEL_MAX_RETRIES="0", PLANGATE_MODEL_TIMEOUT_S="2",
               PLANGATE_PLAN_LIBRARY="0", PLANGATE_DEBUG=debug)
    done = subprocess.run([str(PLANGATE), "--mode", "llm", "cancel my pasta timer"], env=env, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 1 and "[redacted]" in done.stderr, done.stderr[-2000:]
    assert KEY not in done.stdout + done.stderr
    if debug:
        assert "Traceback" in done.stderr  # debug output really printed the chain
