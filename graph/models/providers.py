"""`"provider:model"` strings (`anthropic:claude-sonnet-4-5`), resolved with LangChain's `init_chat_model`.

A tier whose name starts with a known provider and a colon uses that provider's LangChain package; any other
name (`gpt-4o-mini`, `llama3.1:8b`) goes to the OpenAI-compatible endpoint as before. A provider whose package
is not installed is refused when the Context is made, with one line naming the package to install.
This module imports nothing from plangate, so `Context` can check names without a cycle.
"""

from __future__ import annotations

import importlib.util

# provider prefix -> (module that init_chat_model imports, pip package)
PROVIDERS: dict[str, tuple[str, str]] = {
    "openai": ("langchain_openai", "langchain-openai"),
    "azure_openai": ("langchain_openai", "langchain-openai"),
    "anthropic": ("langchain_anthropic", "langchain-anthropic"),
    "google_genai": ("langchain_google_genai", "langchain-google-genai"),
    "google_vertexai": ("langchain_google_vertexai", "langchain-google-vertexai"),
    "bedrock": ("langchain_aws", "langchain-aws"),
    "bedrock_converse": ("langchain_aws", "langchain-aws"),
    "cohere": ("langchain_cohere", "langchain-cohere"),
    "fireworks": ("langchain_fireworks", "langchain-fireworks"),
    "together": ("langchain_together", "langchain-together"),
    "mistralai": ("langchain_mistralai", "langchain-mistralai"),
    "huggingface": ("langchain_huggingface", "langchain-huggingface"),
    "groq": ("langchain_groq", "langchain-groq"),
    "ollama": ("langchain_ollama", "langchain-ollama"),
    "deepseek": ("langchain_deepseek", "langchain-deepseek"),
    "xai": ("langchain_xai", "langchain-xai"),
    "perplexity": ("langchain_perplexity", "langchain-perplexity"),
    "nvidia": ("langchain_nvidia_ai_endpoints", "langchain-nvidia-ai-endpoints"),
    "ibm": ("langchain_ibm", "langchain-ibm"),
    "upstage": ("langchain_upstage", "langchain-upstage"),
}


def provider_of(name: str) -> str | None:
    """The provider of a `"provider:model"` string, or None for a plain (OpenAI-compatible) model name."""
    prefix, colon, model = name.partition(":")
    return prefix if colon and model and prefix in PROVIDERS else None


def missing_package(name: str) -> str | None:
    """The pip package a `"provider:model"` name needs and that is not installed, or None."""
    provider = provider_of(name)
    if provider is None:
        return None
    module, package = PROVIDERS[provider]
    return None if importlib.util.find_spec(module) is not None else package
