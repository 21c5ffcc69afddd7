"""How a tool describes itself to plangate: domain, keywords, side effects and slot kinds.

The registry, the offline rules model and the cascade router read these from `tool.metadata`,
so any LangChain tool (including MCP tools) can take part by carrying them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

from langchain_core.tools import BaseTool

T = TypeVar("T", bound=BaseTool)

SLOT_KINDS = (
    "duration_s", "duration_min", "datetime", "date", "place", "device", "device_state", "number", "text", "label",
    "title", "reference",
)


def describe_tool(
    tool: T,
    *,
    domain: str | None = None,
    keywords: Iterable[str] = (),
    side_effects: bool = False,
    slots: Mapping[str, str] | None = None,
    default: bool = False,
    action: str | None = None,
) -> T:
    """Attach plangate metadata to `tool` and return it.

    `slots` maps argument names to a slot kind from SLOT_KINDS, so the offline rules model can
    fill them from plain text ("10 minutes" -> duration_s, "in Paris" -> place). `default` marks
    the tool chosen when a request names the domain but no tool keyword. `action` is a short verb
    phrase for answers ("get the weather" -> "I couldn't get the weather: ...").
    """
    unknown = {kind for kind in (slots or {}).values() if kind not in SLOT_KINDS}
    if unknown:
        raise ValueError(f"{tool.name}: unknown slot kinds {sorted(unknown)}; use {SLOT_KINDS}")
    meta = dict(tool.metadata or {})
    if domain is not None:
        meta["domain"] = domain
    meta["keywords"] = [k.lower() for k in keywords]
    meta["side_effects"] = side_effects
    meta["slots"] = dict(slots or {})
    meta["default"] = default
    if action:
        meta["action"] = action
    tool.metadata = meta
    return tool
