"""What nodes need besides state and Context: the tool registry and the model tiers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage

from plangate.graph.context import Context, coerce_context
from plangate.graph.models.tiers import Tier, resolve_models
from plangate.graph.offline.chat_model import is_offline
from plangate.graph.transcript import transcript
from plangate.tools.registry import ToolRegistry


@dataclass
class Services:
    registry: ToolRegistry
    model_overrides: Mapping[str, BaseChatModel] = field(default_factory=dict)

    def context(self, runtime: Any) -> Context:
        return coerce_context(getattr(runtime, "context", None))

    def models(self, ctx: Context) -> dict[Tier, BaseChatModel]:
        return resolve_models(ctx, self.registry, self.model_overrides)

    def model(self, ctx: Context, tier: Tier) -> BaseChatModel:
        return self.models(ctx)[tier]

    def offline(self, ctx: Context, tier: Tier) -> bool:
        return is_offline(self.model(ctx, tier))


def answer(text: str, state: Mapping[str, Any] | None = None, *, message_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """A state update that ends the turn with `text` as the answer, after any notices (rung timers).

    message_id: the id the answer streamed under (the model reply's), so chat UIs show one message, not two.
    With `state`, a plan's tool calls and results (`plangate.graph.transcript`) come first."""
    notices = list((state or {}).get("notices") or [])
    if notices:
        text = "\n".join(notices) + "\n\n" + text
    steps = transcript(state) if state is not None else []  # the plan's calls and results, before the answer
    return {"messages": [*steps, AIMessage(content=text, id=message_id or f"answer-{uuid.uuid4()}")], **extra}


def elapsed_ms(state: Mapping[str, Any]) -> int:
    started = state.get("started_at")
    return int((time.time() - started) * 1000) if started else 0
