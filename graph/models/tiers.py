"""Model tiers: weak (router, fast path), default (summarizer, llm steps), strong (planner, replanner).

A tier named `"provider:model"` (`anthropic:claude-sonnet-4-5`) is made by LangChain's `init_chat_model` with
that provider's package. Otherwise, with `OPENAI_API_KEY` or `PLANGATE_BASE_URL` (or `Context.base_url`) set, tiers are ChatOpenAI
clients on that endpoint (OpenAI, vLLM, Ollama, llama.cpp server, LM Studio). Otherwise every tier
is the offline rules model, and the run says so once. API keys are read here, from the
environment, and never stored in Context, state or checkpoints.

On a custom endpoint, a configured model name the server does not serve is replaced by the one
model it lists at GET /models (when it lists exactly one), so `PLANGATE_BASE_URL` alone is enough
for a single-model server such as `make local-llm`; set PLANGATE_MODEL_WEAK/DEFAULT/STRONG otherwise.

`endpoint_profile` says what an endpoint supports: OpenAI (and generic LangChain models) accept a
forced "any tool" choice; llama.cpp-class servers only follow a forced *named* tool.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from plangate.graph.context import Context
from plangate.graph.models.openai_url import is_openai_url
from plangate.graph.models.providers import provider_of
from plangate.graph.offline.chat_model import OfflineRulesModel, is_offline
from plangate.tools.registry import ToolRegistry

Tier = Literal["weak", "default", "strong"]
TIERS: tuple[Tier, ...] = ("weak", "default", "strong")
log = logging.getLogger("plangate")
_warned = threading.Event()
_cache: dict[tuple, BaseChatModel] = {}
_cache_lock = threading.Lock()


def endpoint_url(ctx: Context) -> str:
    return ctx.base_url or os.environ.get("PLANGATE_BASE_URL", "")


def endpoint_configured(ctx: Context) -> bool:
    """True when a real model endpoint is configured; False means the offline rules model."""
    return bool(endpoint_url(ctx) or os.environ.get("OPENAI_API_KEY"))


def _api_key() -> str:
    # Local servers (llama.cpp, vLLM, Ollama) accept any key; OpenAI needs the real one.
    return os.environ.get("PLANGATE_API_KEY") or os.environ.get("OPENAI_API_KEY") or "not-needed"


def max_output_tokens(url: str | None) -> int | None:
    """Cap on tokens per answer: $PLANGATE_MAX_TOKENS (0 = none); default 1024 on custom endpoints, none on OpenAI.

    Grammar-constrained decoding on a small local model can loop inside a JSON string until the
    context is full (minutes on a CPU), and servers keep generating after the client times out.
    """
    raw = os.environ.get("PLANGATE_MAX_TOKENS", "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError as exc:
            raise ValueError(f"PLANGATE_MAX_TOKENS={raw!r} is not an integer (0 means no cap)") from exc
        return value if value > 0 else None
    return None if is_openai_url(url) else 1024


def tier_name(ctx: Context, tier: Tier) -> str:
    return {"weak": ctx.weak_model, "default": ctx.default_model, "strong": ctx.strong_model}[tier]


def provider_model(ctx: Context, name: str) -> BaseChatModel:
    """A `"provider:model"` tier through LangChain's `init_chat_model` (cached per settings). The provider's
    package reads its own key from the environment (ANTHROPIC_API_KEY, ...); nothing is stored."""
    from langchain.chat_models import init_chat_model  # on first use: it imports the provider's package

    key = (name, ctx.model_timeout_s, ctx.model_max_retries)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = init_chat_model(name, temperature=0, timeout=ctx.model_timeout_s, max_retries=ctx.model_max_retries)
        return _cache[key]


def chat_model(ctx: Context, tier: Tier) -> BaseChatModel:
    """A ChatOpenAI client for `tier` on the configured endpoint (cached per settings)."""
    from plangate.graph.models.endpoint import (
        EndpointChatOpenAI,  # on first use: langchain_openai is slow to import
    )

    name = tier_name(ctx, tier)
    url = endpoint_url(ctx) or None
    cap = max_output_tokens(url)
    key = (name, url, ctx.model_timeout_s, ctx.model_max_retries, cap)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = EndpointChatOpenAI(
                model=name,
                base_url=url,
                api_key=SecretStr(_api_key()),
                timeout=ctx.model_timeout_s,
                max_retries=ctx.model_max_retries,
                temperature=0,
                max_completion_tokens=cap,  # the field `max_tokens`, by its alias
            )
        return _cache[key]


@dataclass(frozen=True)
class EndpointProfile:
    """What a model's endpoint supports, for choosing how to ask it for tools and schemas."""

    kind: Literal["offline", "openai", "compatible", "custom"]
    structured_method: Literal["function_calling", "json_schema", "json_mode"]  # what "auto" means here
    any_tool_choice: bool  # False: force one named tool (picked by the rules) instead of "any"


def endpoint_profile(model: Any) -> EndpointProfile:
    """OpenAI and other LangChain models take "any"; OpenAI-compatible servers get named choices only.

    Function calling with a forced named tool is the one method every OpenAI-compatible server we
    measured follows (llama.cpp constrains the arguments with a grammar; it rejects json_schema
    response formats with HTTP 500 and ignores "required"/"auto" tool choices on small models).
    """
    if is_offline(model):
        return EndpointProfile("offline", "function_calling", True)
    if _is_chat_openai(model):
        if is_openai_url(model.openai_api_base):
            return EndpointProfile("openai", "function_calling", True)
        return EndpointProfile("compatible", "function_calling", False)
    return EndpointProfile("custom", "function_calling", True)


def _is_chat_openai(model: Any) -> bool:
    if "langchain_openai" not in sys.modules:  # never imported: model cannot be a ChatOpenAI
        return False
    from langchain_openai import ChatOpenAI

    return isinstance(model, ChatOpenAI)


def structured_method(requested: str, model: Any) -> str:
    """The method to use for `model`: `requested` (a Context.structured_method), "auto" decided per endpoint.

    The offline rules model always gets function calling: it answers schema requests by tool name.
    """
    profile = endpoint_profile(model)
    if requested == "auto" or profile.kind == "offline":
        return profile.structured_method
    return requested


def offline_model(registry: ToolRegistry) -> OfflineRulesModel:
    if not _warned.is_set():
        _warned.set()
        log.warning("plangate: no OPENAI_API_KEY or PLANGATE_BASE_URL set; using the offline rules model")
    return OfflineRulesModel(registry=registry)


def resolve_models(
    ctx: Context, registry: ToolRegistry, overrides: Mapping[str, BaseChatModel] | None = None
) -> dict[Tier, BaseChatModel]:
    """One model per tier: explicit overrides first, then the endpoint, else the offline model."""
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(TIERS)
    if unknown:
        raise ValueError(f"models: unknown tier(s) {sorted(unknown)}; use weak, default and strong")
    online = endpoint_configured(ctx)
    models: dict[Tier, BaseChatModel] = {}
    offline: OfflineRulesModel | None = None
    for tier in TIERS:
        if tier in overrides:
            models[tier] = overrides[tier]
        elif provider_of(tier_name(ctx, tier)):
            models[tier] = provider_model(ctx, tier_name(ctx, tier))
        elif online:
            models[tier] = chat_model(ctx, tier)
        else:
            offline = offline or offline_model(registry)
            models[tier] = offline
    return models
