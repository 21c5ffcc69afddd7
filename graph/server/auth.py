"""Per-user access for LangGraph Server / `langgraph dev` (enabled by langgraph.auth.json, off in langgraph.json).

Credentials come from the environment only and are never logged or echoed:
- `PLANGATE_API_KEYS="key1:alice,key2:bob"`: send `x-api-key: key1` (what `get_client(api_key=...)` does)
  or `Authorization: Bearer key1`.
- `PLANGATE_JWT_SECRET=...`: HS256 JWTs with `sub` (the user) and `exp`, sent as `Authorization: Bearer <jwt>`.

Every thread, run and cron is stamped `metadata.owner = <user>` and only its owner can list, read, resume,
update or delete it (others get 404 for reads of single items, 403 for writes). Store items live under
`("plangate", kind, <user>)` (what the tools write) or `(<user>, ...)`; other namespaces are refused.
A run's `Context.user_id` is forced to the caller, so alice cannot act as bob inside the graph.
Assistants (the graphs) are readable by every signed-in user. LangSmith-verified Studio users (only when
`disable_studio_auth` is false, on a deployment) may see everything.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

import jwt
from langgraph_sdk import Auth

auth = Auth()
OWNER = "owner"


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
            context = kwargs.get("context")
            kwargs["context"] = {**(context if isinstance(context, dict) else {}), "user_id": user}
    return {OWNER: user}


@auth.on.crons
async def own_crons(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> Auth.types.FilterType | None:
    if _is_studio(ctx):
        return None
    if ctx.action == "create":
        _stamp(value, ctx.user.identity)
    return {OWNER: ctx.user.identity}


@auth.on.assistants
async def shared_assistants(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> Auth.types.FilterType | None:
    """Everyone may read the graphs' assistants; assistants a user makes are theirs to change."""
    if _is_studio(ctx) or ctx.action in ("read", "search"):
        return None
    if ctx.action == "create":
        _stamp(value, ctx.user.identity)
    return {OWNER: ctx.user.identity}


def _owns(namespace: tuple[str, ...], user: str) -> bool:
    return namespace[:1] == (user,) or (len(namespace) >= 3 and namespace[0] == "plangate" and namespace[2] == user)


@auth.on.store()
async def own_store(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> None:
    """Store items: only under ("plangate", kind, <user>) or (<user>, ...)."""
    if _is_studio(ctx):
        return None
    namespace = tuple(value.get("namespace") or ())
    if not _owns(namespace, ctx.user.identity):
        raise Auth.exceptions.HTTPException(
            status_code=403, detail=f"namespace {list(namespace)} is not yours; use ['plangate', KIND, YOUR_ID]"
        )
    return None
