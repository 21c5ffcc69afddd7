"""scripts/serve_cluster.py (`make serve-cluster`) without starting anything: names, secrets, the server's env.

The servers themselves run in tests/integration/test_cluster.py.
"""

from __future__ import annotations

import pytest

from scripts import serve_cluster


def test_the_database_name_must_be_a_plain_identifier():
    serve = serve_cluster
    assert serve.database_name("postgresql://postgres@127.0.0.1:5432/plangate_cluster") == "plangate_cluster"
    for bad in ("postgresql://postgres@127.0.0.1:5432/", "postgresql://h/x;DROP DATABASE test", "postgresql://h/a-b",
                "postgresql://h/" + "x" * 64):
        with pytest.raises(serve.ClusterError, match="DATABASE_URI must name a database"):
            serve.database_name(bad)


def test_passwords_never_reach_messages():
    serve = serve_cluster
    assert serve.redact("postgresql://app:hunter2@db:5432/plangate") == "postgresql://app:***@db:5432/plangate"
    assert serve.redact("redis://:hunter2@cache:6379/2") == "redis://:***@cache:6379/2"
    assert serve.redact("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    with pytest.raises(serve.ClusterError) as caught:
        serve.database_name("postgresql://app:hunter2@db:5432/bad-name")
    assert "hunter2" not in str(caught.value)


def test_server_env_stays_local_and_keeps_the_callers_settings():
    serve = serve_cluster
    env = serve.server_env("postgresql://h/db", "redis://h/1", base={"PLANGATE_BASE_URL": "http://127.0.0.1:9/v1"})
    assert env["DATABASE_URI"] == "postgresql://h/db" and env["REDIS_URI"] == "redis://h/1"
    assert env["LANGGRAPH_NO_VERSION_CHECK"] == "true" and env["LANGSMITH_TRACING"] == "false"
    assert env["LG_BG_JOB_HEARTBEAT"] == "5.0" and env["PLANGATE_BASE_URL"] == "http://127.0.0.1:9/v1"
    chosen = serve.server_env("postgresql://h/db", "redis://h/1", base={"LG_BG_JOB_HEARTBEAT": "2",
                                                                      "LANGSMITH_TRACING": "true"})
    assert chosen["LG_BG_JOB_HEARTBEAT"] == "2" and chosen["LANGSMITH_TRACING"] == "true"
    assert serve.server_env("postgresql://h/db", "redis://h/1", heartbeat_s=3, base={})["LG_BG_JOB_HEARTBEAT"] == "3"
