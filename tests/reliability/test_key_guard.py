"""The server's API key goes only to an endpoint the operator configured (issue 13, row 1, enforced in
plangate.graph.models.endpoint where the client is built), whatever base URL a Context carries."""

from __future__ import annotations

import pytest

from plangate import Context
from plangate.graph.models.endpoint import operator_configured
from plangate.graph.models.tiers import chat_model
from tests.reliability.fake_openai import FakeOpenAI, text

SECRET = "sk-operator-secret-0123456789"


@pytest.fixture
def endpoints():
    with FakeOpenAI(responder=lambda body: text("hi")) as legit, FakeOpenAI(responder=lambda body: text("hi")) as evil:
        yield legit, evil


def authorizations(fake: FakeOpenAI) -> set[str]:
    return {next((v for k, v in r["headers"].items() if k.lower() == "authorization"), "") for r in fake.requests}


@pytest.mark.parametrize("key_var", ["OPENAI_API_KEY", "PLANGATE_API_KEY"])
async def test_a_context_base_url_the_operator_did_not_configure_never_gets_the_key(monkeypatch, endpoints, key_var):
    legit, evil = endpoints
    monkeypatch.setenv(key_var, SECRET)
    monkeypatch.setenv("PLANGATE_BASE_URL", legit.base_url)
    for model in (chat_model(Context(base_url=evil.base_url, weak_model="m-evil"), "weak"),):
        model.invoke("hello")
        await model.ainvoke("hello")
    assert evil.requests and authorizations(evil) == {"Bearer not-needed"}  # the GET /models probe too
    chat_model(Context(base_url=legit.base_url, weak_model="m-legit"), "weak").invoke("hello")
    assert authorizations(legit) == {f"Bearer {SECRET}"}


def test_allowed_base_urls_get_the_key(monkeypatch, endpoints):
    legit, evil = endpoints
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.delenv("PLANGATE_BASE_URL", raising=False)
    monkeypatch.setenv("PLANGATE_ALLOWED_BASE_URLS", f"http://other.invalid/v1, {legit.base_url}")
    chat_model(Context(base_url=legit.base_url, weak_model="m-allowed"), "weak").invoke("hello")
    assert authorizations(legit) == {f"Bearer {SECRET}"}


@pytest.mark.parametrize("url, trusted", [
    (None, True), ("https://api.openai.com/v1", True), ("https://eu.api.openai.com/v1", True),
    ("https://attackeropenai.com/v1", False), ("http://api.openai.com/v1", False),  # look-alike host, no TLS
    ("https://api.openai.com.evil.net/v1", False), ("http://127.0.0.1:9/v1", False), ("not a url", False),
])
def test_which_endpoints_count_as_configured(monkeypatch, url, trusted):
    monkeypatch.delenv("PLANGATE_BASE_URL", raising=False)
    monkeypatch.delenv("PLANGATE_ALLOWED_BASE_URLS", raising=False)
    assert operator_configured(url) is trusted
