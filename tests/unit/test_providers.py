"""Any LangChain chat model through "provider:model" strings; OpenAI-compatible names stay the default."""

from __future__ import annotations

import pytest
from langchain_openai import ChatOpenAI

from plangate.graph.context import Context, ContextError
from plangate.graph.models.endpoint import EndpointChatOpenAI
from plangate.graph.models.providers import missing_package, provider_of
from plangate.graph.models.tiers import resolve_models
from plangate.graph.offline.chat_model import OfflineRulesModel
from plangate.tools.registry import build_registry
from tests.helpers import make_graph


@pytest.mark.parametrize(("name", "provider"), [("anthropic:claude-sonnet-4-5", "anthropic"), ("openai:gpt-4o", "openai"),
                                                ("gpt-4o-mini", None), ("llama3.1:8b", None), ("qwen2.5:0.5b", None)])
def test_provider_strings_and_plain_names(name, provider):
    assert provider_of(name) == provider


def test_a_missing_provider_package_is_one_line_naming_it():
    assert missing_package("anthropic:claude-sonnet-4-5") == "langchain-anthropic"
    with pytest.raises(ContextError) as raised:
        Context(strong_model="anthropic:claude-sonnet-4-5")
    assert str(raised.value) == ("Context.strong_model: 'anthropic:claude-sonnet-4-5' needs the langchain-anthropic "
                                 "package: pip install langchain-anthropic")


def test_a_provider_tier_uses_init_chat_model_and_the_others_stay_as_they_were(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("PLANGATE_BASE_URL", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")  # read by the provider's package, not by plangate's Context
    models = resolve_models(Context(strong_model="openai:gpt-4.1"), build_registry(None))
    assert type(models["strong"]) is ChatOpenAI and models["strong"].model_name == "gpt-4.1"
    assert isinstance(models["weak"], EndpointChatOpenAI)  # plain names: the OpenAI-compatible endpoint, the default
    monkeypatch.delenv("OPENAI_API_KEY")
    offline = resolve_models(Context(strong_model="openai:gpt-4.1"), build_registry(None))
    assert isinstance(offline["weak"], OfflineRulesModel) and type(offline["strong"]) is ChatOpenAI


def test_model_fields_carry_langgraphs_template_metadata_for_studio_pickers():
    props = make_graph().get_context_jsonschema()["properties"]
    for name in ("weak_model", "default_model", "strong_model"):
        assert props[name]["__template_metadata__"] == {"kind": "llm"} and props[name]["type"] == "string"
    assert "__template_metadata__" not in props["base_url"]
