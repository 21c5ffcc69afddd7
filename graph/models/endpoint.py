"""ChatOpenAI that sends the model name a custom OpenAI-compatible endpoint actually serves.

A configured name the server does not list at GET /models is replaced by the server's only model
(when it lists exactly one), so pointing PLANGATE_BASE_URL at a single-model server (llama.cpp via
`make local-llm`, vLLM) is enough. The check is made once per (endpoint, name) and process, with the
sync or async client to match the call, so async runs never block the event loop. The output cap is
sent as `max_tokens`, the name those servers read. Importing this
module imports langchain_openai; `plangate.graph.models.tiers` does so only when an endpoint is used.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
from langchain_core.outputs import ChatGenerationChunk
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from plangate.graph.models.openai_url import is_openai_url

log = logging.getLogger("plangate")
_served: dict[tuple[str, str], str] = {}  # (base_url, configured name) -> name to send


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
    client to match the call, so async runs never block the event loop.
    """

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
        secret = key.get_secret_value() if isinstance(key, SecretStr) else "not-needed"  # plangate passes a SecretStr
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
