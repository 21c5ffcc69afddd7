"""Notifications: log file (default), stdout, off, and webhooks against a local server."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from plangate.tools import notification
from plangate.tools.errors import RetryableToolError, ToolError
from plangate.tools.registry import build_registry


def notify(message="dinner is ready", **extra):
    return notification.notify.invoke({"message": message, **extra})


def test_log_file_sink_appends_one_line_per_notification(tmp_path, clock):
    notify("dinner is ready")
    out = notify("line one\nline two", priority="high", title="Oven")
    lines = (tmp_path / "notifications.log").read_text().splitlines()
    assert lines == ["2026-11-22T14:00:00+01:00 [normal] plangate (default): dinner is ready",
                     "2026-11-22T14:00:00+01:00 [high] Oven (default): line one line two"]
    assert out["notification"]["sink"] == "file"
    assert out["message"].startswith("Notification sent to the log file")


def test_default_sink_is_a_log_file_in_the_plangate_home(monkeypatch, tmp_path):
    monkeypatch.delenv("PLANGATE_NOTIFY")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PLANGATE_HOME", raising=False)
    out = notify()
    assert (tmp_path / "home" / ".plangate" / "notifications.log").read_text().endswith("dinner is ready\n")
    assert "~/.plangate/notifications.log" in out["message"]


def test_stdout_and_off_sinks(monkeypatch, capsys):
    monkeypatch.setenv("PLANGATE_NOTIFY", "stdout")
    notify("kettle boiled")
    assert "kettle boiled" in capsys.readouterr().out
    monkeypatch.setenv("PLANGATE_NOTIFY", "off")
    assert notify("dropped")["notification"]["sink"] == "off"
    assert capsys.readouterr().out == ""


def test_webhook_receives_json(http_server, monkeypatch):
    server = http_server(lambda method, path, headers, body: (200, {"ok": True}))
    monkeypatch.setenv("PLANGATE_NOTIFY", f"{server.url}/hooks/T0KEN-abc?key=s3cret")
    out = notify("dinner is ready", title="Kitchen")
    request = server.requests[0]
    assert request["method"] == "POST" and request["path"] == "/hooks/T0KEN-abc?key=s3cret"
    assert request["body"]["message"] == "dinner is ready" and request["body"]["text"] == "Kitchen: dinner is ready"
    assert request["body"]["user"] == "default"
    assert "T0KEN" not in str(out) and "s3cret" not in str(out)  # only the host is shown


def test_webhook_500_is_retryable_and_4xx_is_not(http_server, monkeypatch):
    status = {"code": 500}
    server = http_server(lambda method, path, headers, body: (status["code"], {"error": "nope"}))
    monkeypatch.setenv("PLANGATE_NOTIFY", f"{server.url}/hook/SECRET")
    with pytest.raises(RetryableToolError, match="HTTP 500") as err:
        notify()
    assert "SECRET" not in str(err.value)
    status["code"] = 404
    with pytest.raises(ToolError, match="HTTP 404") as err:
        notify()
    assert not err.value.retryable


def test_unreachable_webhook_and_unwritable_file(monkeypatch, closed_port_url, tmp_path):
    monkeypatch.setenv("PLANGATE_NOTIFY", closed_port_url + "/hook")
    with pytest.raises(RetryableToolError, match="couldn't reach the notification webhook"):
        notify()
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("PLANGATE_NOTIFY", str(blocker / "inside-a-file.log"))
    with pytest.raises(ToolError, match="couldn't write the notification"):
        notify()


def test_invalid_arguments_and_side_effects():
    with pytest.raises(ValidationError):
        notify("")
    with pytest.raises(ValidationError):
        notify("x", priority="urgent")
    assert build_registry().has_side_effects("notification.notify")


def test_webhook_500_in_a_plan_is_retried_then_reported(http_server, monkeypatch, no_sleep):
    from tests.helpers import config, make_graph, user

    server = http_server(lambda method, path, headers, body: (500, {"error": "down"}))
    monkeypatch.setenv("PLANGATE_NOTIFY", server.url + "/hook")
    out = make_graph().invoke(user("notify me that dinner is ready"), config())
    assert len(server.requests) == 3  # the first try and step_retries=2 more
    assert out["messages"][-1].content.startswith("I couldn't send the notification: the notification webhook")
