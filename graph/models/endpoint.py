"""ChatOpenAI that sends the model name a custom OpenAI-compatible endpoint actually serves.

A configured name the server does not list at GET /models is replaced by the server's only model
(when it lists exactly one), so pointing PLANGATE_BASE_URL at a single-model server (llama.cpp via
`make local-llm`, vLLM) is enough. The check is made once per (endpoint, name) and process, with the
sync or async client to match the call, so async runs never block the event loop. The output cap is
sent as `max_tokens`, the name those servers read. Importing this
module imports langchain_openai; `plangate.graph.models.tiers` does so only when an endpoint is used.

The API key is only ever sent to a host the operator configured: OpenAI itself, the host of
`PLANGATE_BASE_URL`, or one listed in `PLANGATE_ALLOWED_BASE_URLS`. Any other base URL (one that came
from a caller, say) gets the placeholder key "not-needed", which local servers accept.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
from langchain_core.outputs import ChatGenerationChunk
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from plangate.graph.models.openai_url import is_openai_url

log = logging.getLogger("plangate")
_served: dict[tuple[str, str], str] = {}  # (base_url, configured name) -> name to send
PLACEHOLDER_KEY = "not-needed"


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url.strip())
        return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None


def operator_configured(url: str | None) -> bool:
    """True when the operator configured this endpoint: OpenAI, PLANGATE_BASE_URL or PLANGATE_ALLOWED_BASE_URLS."""
    if not url:
        return True  # no base URL: the client talks to OpenAI
    origin = _origin(url)
    if origin is None:
        return False
    scheme, host, _port = origin
    if scheme == "https" and (host == "openai.com" or host.endswith(".openai.com")):
        return True
    configured = [os.environ.get("PLANGATE_BASE_URL", ""), *os.environ.get("PLANGATE_ALLOWED_BASE_URLS", "").split(",")]
    return any(entry.strip() and _origin(entry) == origin for entry in configured)


def guarded_key(url: str | None, key: str | None) -> str | None:
    """`key` if `url` is an endpoint the operator configured, else the placeholder (the key never leaves)."""
    if key is None or operator_configured(url):
        return key
    host = (_origin(url or "") or ("", "?", None))[1]
    log.warning("plangate: not sending the API key to %s, an endpoint the operator did not configure "
                "(set PLANGATE_BASE_URL or PLANGATE_ALLOWED_BASE_URLS to trust it)", host)
    return PLACEHOLDER_KEY


def pick_served(configured: str, served: list[str]) -> str:
    """The name to send: the configured one if served, else the only served model, else the configured one."""
    if configured in served or len(served) != 1:
        return configured
    return served[0]


def _listed(body: Any) -> list[str]:
    data = body.get("data") if isinstance(body, dict) else None
    return [str(m["id"]) for m in data or [] if isinstance(m, dict) and "id" in m]


class EndpointChatOpenAI(ChatOpenAI):
    """ChatOpenAI that, on a custom endpoint, sends the name of the model the server actually serves.

    The check is one GET /models per (endpoint, name) and process, made with the sync or async
    client to match the call, so async runs never block the event loop. The key is sent only to an
    endpoint the operator configured (`guarded_key`).
    """

    def __init__(self, **kwargs: Any) -> None:
        url = kwargs.get("base_url", kwargs.get("openai_api_base")) or os.environ.get("OPENAI_API_BASE")
        name = "api_key" if "api_key" in kwargs or "openai_api_key" not in kwargs else "openai_api_key"
        key = kwargs.get(name)
        if key is None:
            key = os.environ.get("OPENAI_API_KEY")
        if key is not None:
            kwargs[name] = guarded_key(url, key.get_secret_value() if isinstance(key, SecretStr) else str(key))
        super().__init__(**kwargs)

    def _known(self) -> tuple[str, str] | None:
        url = str(self.openai_api_base or "")
        key = (url, self.model_name)
        if is_openai_url(url):
            return None
        return key

    def _remember(self, key: tuple[str, str], served: list[str]) -> str:
        name = pick_served(key[1], served)
        if name != key[1]:
            log.warning("plangate: %s does not serve %r; using its only model %r", key[0], key[1], name)
        _served[key] = name
        return name

    def _headers(self) -> dict[str, str]:
        key = self.openai_api_key
        secret = key.get_secret_value() if isinstance(key, SecretStr) else PLACEHOLDER_KEY  # plangate passes a SecretStr
        return {"Authorization": f"Bearer {secret}"}

    def _served_name(self) -> str:
        key = self._known()
        if key is None:
            return self.model_name
        if key not in _served:
            try:
                body = httpx.get(f"{key[0].rstrip('/')}/models", headers=self._headers(), timeout=5.0).json()
            except (httpx.HTTPError, ValueError):
                body = {}
            self._remember(key, _listed(body))
        return _served[key]

    async def _aserved_name(self) -> str:
        key = self._known()
        if key is None:
            return self.model_name
        if key not in _served:
            try:
                async with httpx.AsyncClient(timeout=5.0) as client:
                    body = (await client.get(f"{key[0].rstrip('/')}/models", headers=self._headers())).json()
            except (httpx.HTTPError, ValueError):
                body = {}
            self._remember(key, _listed(body))
        return _served[key]

    def _get_request_payload(self, input_: Any, *, stop: Any = None, **kwargs: Any) -> dict:
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        if self._known() is not None and "max_completion_tokens" in payload:
            # OpenAI renamed the cap; llama.cpp, Ollama and older vLLM only read `max_tokens`
            payload["max_tokens"] = payload.pop("max_completion_tokens")
        return payload

    def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
        return super()._generate(messages, stop, run_manager, **{"model": self._served_name(), **kwargs})

    async def _agenerate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
        name = await self._aserved_name()
        return await super()._agenerate(messages, stop, run_manager, **{"model": name, **kwargs})

    def _stream(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
        yield from super()._stream(messages, stop, run_manager, **{"model": self._served_name(), **kwargs})

    async def _astream(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        name = await self._aserved_name()
        async for chunk in super()._astream(messages, stop, run_manager, **{"model": name, **kwargs}):
            yield chunk
