"""Per-user access for LangGraph Server / `langgraph dev` (enabled by langgraph.auth.json, off in langgraph.json).

Credentials come from the environment only and are never logged or echoed:
- `PLANGATE_API_KEYS="key1:alice,key2:bob"`: send `x-api-key: key1` (what `get_client(api_key=...)` does)
  or `Authorization: Bearer key1`.
- `PLANGATE_JWT_SECRET=...`: HS256 JWTs with `sub` (the user) and `exp`, sent as `Authorization: Bearer <jwt>`.

Every thread, run and cron is stamped `metadata.owner = <user>` and only its owner can list, read, resume,
update or delete it (others get 404 for reads of single items, 403 for writes). Store items live under
`("plangate", KIND, user_label(<user>), ...)` (what the tools write; `plangate.tools.runtime.user_label` keeps
"alice" as is and encodes ".", "%" and control characters); other namespaces are refused, so no user id,
not even "plangate", reaches another user's items.
A run's `Context.user_id` is forced to the caller, so alice cannot act as bob inside the graph.

Endpoint settings are the operator's: a run's `base_url`, model names and `structured_method` are set to the
server's own (`PLANGATE_BASE_URL`, `PLANGATE_MODEL_*`, `PLANGATE_STRUCTURED_METHOD`); a caller, an assistant or a
cron asking for another value gets 403 unless the operator allowed it (`PLANGATE_ALLOWED_BASE_URLS`,
`PLANGATE_ALLOWED_MODELS`, comma-separated). Assistants are owned: a user sees and runs the graphs' system
assistants and the assistants they made, nobody else's. LangSmith-verified Studio users (only when
`disable_studio_auth` is false, on a deployment) may see everything.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

import jwt
from langgraph_sdk import Auth

from plangate.graph.context import Context
from plangate.tools.runtime import user_label

auth = Auth()
OWNER = "owner"
SYSTEM = {"created_by": "system"}  # the metadata langgraph-api gives the assistants it makes from langgraph.json
ENDPOINT_FIELDS = ("base_url", "weak_model", "default_model", "strong_model", "structured_method")
MODEL_FIELDS = ("weak_model", "default_model", "strong_model")


def _api_keys() -> dict[str, str]:
    """PLANGATE_API_KEYS parsed as {key: user}; entries without both parts are ignored."""
    keys: dict[str, str] = {}
    for entry in os.environ.get("PLANGATE_API_KEYS", "").split(","):
        key, sep, user = entry.strip().partition(":")
        if key and sep and user.strip():
            keys[key] = user.strip()
    return keys


def _user_for_key(token: str) -> str | None:
    found = None
    for key, user in _api_keys().items():  # compare every key in constant time
        if hmac.compare_digest(key.encode(), token.encode()):
            found = user
    return found


def _user_for_jwt(token: str) -> str | None:
    secret = os.environ.get("PLANGATE_JWT_SECRET", "")
    if not secret or token.count(".") != 2:
        return None
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub", "exp"]})
    except jwt.PyJWTError as exc:  # the reason, never the token
        raise Auth.exceptions.HTTPException(status_code=401, detail=f"invalid token: {exc}") from None
    return str(claims["sub"])


def _credential(headers: dict[bytes, bytes]) -> str:
    key = headers.get(b"x-api-key", b"").decode(errors="replace").strip()
    if key:
        return key
    scheme, _, value = headers.get(b"authorization", b"").decode(errors="replace").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


@auth.authenticate
async def authenticate(headers: dict[bytes, bytes]) -> Auth.types.MinimalUserDict:
    """Who is calling: an API key or a JWT; anything else is 401."""
    if not _api_keys() and not os.environ.get("PLANGATE_JWT_SECRET"):
        raise Auth.exceptions.HTTPException(status_code=401, detail="authentication is not configured on this server")
    token = _credential(headers)
    if not token:
        raise Auth.exceptions.HTTPException(
            status_code=401, detail="missing credentials: send 'x-api-key: KEY' or 'Authorization: Bearer KEY_OR_JWT'"
        )
    user = _user_for_key(token) or _user_for_jwt(token)
    if not user:
        raise Auth.exceptions.HTTPException(status_code=401, detail="invalid credentials")
    return {"identity": user, "permissions": ["plangate:user"]}


def _listed(env: str) -> set[str]:
    return {part.strip() for part in os.environ.get(env, "").split(",") if part.strip()}


def operator_endpoint() -> dict[str, str]:
    """The server's own endpoint settings (its environment), which every run on it uses unless allowed otherwise."""
    ctx = Context.from_env()
    return {name: getattr(ctx, name) for name in ENDPOINT_FIELDS}


def _allowed(name: str, server: dict[str, str]) -> set[str]:
    if name == "base_url":
        return {server[name], *_listed("PLANGATE_ALLOWED_BASE_URLS")}
    if name in MODEL_FIELDS:
        return {*(server[tier] for tier in MODEL_FIELDS), *_listed("PLANGATE_ALLOWED_MODELS")}
    return {server[name]}


def _check_endpoint(settings: Any, where: str) -> None:
    """403 when `settings` (a context or configurable dict) asks for an endpoint setting the operator did not allow."""
    if not isinstance(settings, dict):
        return
    server = operator_endpoint()
    for name in ENDPOINT_FIELDS:
        if name in settings and settings[name] not in _allowed(name, server):
            hint = {"base_url": " (PLANGATE_ALLOWED_BASE_URLS)", "weak_model": " (PLANGATE_ALLOWED_MODELS)",
                    "default_model": " (PLANGATE_ALLOWED_MODELS)", "strong_model": " (PLANGATE_ALLOWED_MODELS)"}
            raise Auth.exceptions.HTTPException(
                status_code=403,
                detail=f"{where}: Context.{name} is set by the server operator on this server; leave it out, "
                f"or ask the operator to allow the value{hint.get(name, '')}",
            )


def _run_context(context: Any, user: str) -> dict[str, Any]:
    """The context a run gets: the caller's, checked, with the operator's endpoint and the caller as user.

    Filling in the operator's values also overrides whatever an assistant's own context says."""
    context = context if isinstance(context, dict) else {}
    _check_endpoint(context, "run context")
    server = operator_endpoint()
    return {**context, **{name: context.get(name, server[name]) for name in ENDPOINT_FIELDS}, "user_id": user}


def _is_studio(ctx: Auth.types.AuthContext) -> bool:
    return isinstance(ctx.user, Auth.types.StudioUser)


def _stamp(value: dict[str, Any], user: str) -> None:
    metadata = value.get("metadata")
    if not isinstance(metadata, dict):
        metadata = value["metadata"] = {}
    metadata[OWNER] = user


@auth.on.threads
async def own_threads(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> Auth.types.FilterType | None:
    """Threads and their runs: stamped with the owner on create, filtered by owner everywhere else."""
    if _is_studio(ctx):
        return None
    user = ctx.user.identity
    if ctx.action in ("create", "create_run"):
        _stamp(value, user)
    if ctx.action == "create_run":
        kwargs = value.get("kwargs")
        if isinstance(kwargs, dict):
            _check_endpoint((kwargs.get("config") or {}).get("configurable"), "run config")
            kwargs["context"] = _run_context(kwargs.get("context"), user)
    return {OWNER: user}


@auth.on.crons
async def own_crons(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> Auth.types.FilterType | None:
    if _is_studio(ctx):
        return None
    if ctx.action == "create":
        _stamp(value, ctx.user.identity)
        payload = value.get("payload")
        if isinstance(payload, dict):
            payload["context"] = _run_context(payload.get("context"), ctx.user.identity)
    return {OWNER: ctx.user.identity}


@auth.on.assistants
async def own_assistants(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> Auth.types.FilterType | None:
    """Everyone sees and runs the graphs' system assistants; an assistant a user makes is theirs alone.

    A user's assistant cannot carry endpoint settings the operator did not allow, nor pass itself off as a
    system one. (langgraph-api checks this read filter before a run uses a non-system assistant.)"""
    if _is_studio(ctx):
        return None
    user = ctx.user.identity
    if ctx.action in ("create", "update"):
        _check_endpoint(value.get("context"), "assistant context")
        _check_endpoint((value.get("config") or {}).get("configurable"), "assistant config")
        metadata = value.get("metadata")
        if isinstance(metadata, dict):
            metadata.pop("created_by", None)
        if ctx.action == "create":
            _stamp(value, user)
    if ctx.action in ("read", "search"):
        return {"$or": [SYSTEM, {OWNER: user}]}  # type: ignore[dict-item,list-item]
    return {OWNER: user}


def _owns(namespace: tuple[str, ...], user: str) -> bool:
    return len(namespace) >= 3 and namespace[0] == "plangate" and namespace[2] == user_label(user)


@auth.on.store()
async def own_store(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> None:
    """Store items: only under ("plangate", KIND, user_label(<user>), ...)."""
    if _is_studio(ctx):
        return None
    namespace = tuple(value.get("namespace") or ())
    if not _owns(namespace, ctx.user.identity):
        raise Auth.exceptions.HTTPException(
            status_code=403, detail=f"namespace {list(namespace)} is not yours; use ['plangate', KIND, {user_label(ctx.user.identity)!r}]"
        )
    return None
