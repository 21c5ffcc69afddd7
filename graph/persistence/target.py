"""Which database a run uses, and how to name it without its password."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit


def default_db_path() -> str:
    """$PLANGATE_DB, else ~/.plangate/threads.sqlite."""
    return os.environ.get("PLANGATE_DB") or str(Path.home() / ".plangate" / "threads.sqlite")


def database_url() -> str | None:
    """$PLANGATE_DATABASE_URL when set (a postgresql:// URL)."""
    url = os.environ.get("PLANGATE_DATABASE_URL", "").strip()
    return url or None


def is_postgres(target: str) -> bool:
    return target.startswith(("postgres://", "postgresql://"))


def resolve_target(db: str | None = None) -> str:
    """What `db` means: an explicit path or URL wins, then PLANGATE_DATABASE_URL, then PLANGATE_DB."""
    return db or database_url() or default_db_path()


def redact(target: str) -> str:
    """A database target safe to print: never the password."""
    if not is_postgres(target):
        return target
    parts = urlsplit(target)
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{parts.hostname or ''}{port}{parts.path}"
