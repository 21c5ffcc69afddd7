"""Run configuration: the `Context` dataclass used as the graph's `context_schema`.

Every field has a default that can be overridden by an environment variable (read when the
module is imported, and again by `Context.from_env()`). Explicit values always win. Secrets
never live here: API keys are read from the environment by `plangate.graph.models.tiers` only.
"""

from __future__ import annotations

import math
import os
from dataclasses import MISSING, dataclass, field, fields
from typing import Annotated, Any, Literal

from pydantic import Field

from plangate.graph.models.providers import missing_package

RouterMode = Literal["cascade", "llm", "rules"]
StructuredMethod = Literal["auto", "function_calling", "json_schema", "json_mode"]
SideEffectApproval = Literal["on", "replanned", "off"]
# LangGraph's template metadata: Studio shows these fields as model pickers (kept in the JSON schema too).
ModelName = Annotated[str, {"__template_metadata__": {"kind": "llm"}},
                      Field(json_schema_extra={"__template_metadata__": {"kind": "llm"}})]
_MODEL_HELP = " A model name on the OpenAI-compatible endpoint, or 'provider:model' (e.g. anthropic:claude-sonnet-4-5)."
_SWITCH_WORDS = {"true": "on", "1": "on", "yes": "on", "on": "on", "false": "off", "0": "off", "no": "off", "off": "off",
                 "": "off", "replanned": "replanned"}


class ContextError(ValueError):
    """A Context field holds a value that cannot work; the message names the field."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field_name = field_name
        super().__init__(f"Context.{field_name}: {message}")


def _parse(raw: str, kind: type, env: str, field_name: str) -> Any:
    try:
        if kind is bool:
            if raw.strip().lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.strip().lower() in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        return kind(raw)
    except ValueError as exc:
        raise ContextError(field_name, f"environment variable {env}={raw!r} is not a valid {kind.__name__}") from exc


def _setting(default: Any, env: str, description: str, kind: type | None = None) -> Any:
    """A Context field whose default comes from `env` when set."""
    kind = kind or type(default)
    raw = os.environ.get(env)
    metadata = {"env": env, "description": description, "kind": kind, "base": default}
    if raw is None:
        return field(default=default, metadata=metadata)
    try:
        return field(default=_parse(raw, kind, env, env), metadata=metadata)
    except ContextError:  # raised when a Context is made (naming the field), so importing the package works

        def fail() -> Any:
            return _parse(raw, kind, env, setting.name)

        setting = field(default_factory=fail, metadata=metadata)
        return setting


@dataclass
class Context:
    """How a plangate run behaves. Edit it in Studio, pass it as `context=` or set the env vars."""

    fast_threshold: float = _setting(
        0.95, "PLANGATE_FAST_THRESHOLD", "Router confidence at or above which a 'fast' decision takes the fast path."
    )
    plan_threshold: float = _setting(
        0.70, "PLANGATE_PLAN_THRESHOLD", "Router confidence below which the request always goes to the planner."
    )
    router_mode: RouterMode = _setting(
        "cascade", "PLANGATE_ROUTER_MODE", "cascade: rules first, LLM only when unsure; llm: LLM only; rules: rules only.", str
    )
    max_replans: int = _setting(2, "PLANGATE_MAX_REPLANS", "How many times the replanner may revise a plan.")
    max_parallel_steps: int = _setting(4, "PLANGATE_MAX_PARALLEL_STEPS", "Most plan steps running at once.")
    step_retries: int = _setting(2, "PLANGATE_STEP_RETRIES", "Default retries per step for errors that can pass.")
    step_timeout_s: float = _setting(30.0, "PLANGATE_STEP_TIMEOUT_S", "Default timeout of one step attempt, seconds.")
    plan_timeout_s: float = _setting(300.0, "PLANGATE_PLAN_TIMEOUT_S", "Budget for the whole plan, seconds.")
    approve_plans: bool = _setting(False, "PLANGATE_APPROVE_PLANS", "Pause for approval before a plan runs.")
    approve_side_effects: SideEffectApproval = _setting(
        "replanned", "PLANGATE_APPROVE_SIDE_EFFECTS",
        "Pause before side effects: on (every side-effecting step), replanned (only steps the replanner added "
        "that the approved plan did not have), off. True/False mean on/off.", str,
    )
    high_risk_devices: str = _setting(
        "lock", "PLANGATE_HIGH_RISK_DEVICES",
        "Device kinds or ids (comma-separated) whose changes always need approval, whatever approve_side_effects says.",
    )
    approvals_can_edit: bool = _setting(True, "PLANGATE_APPROVALS_CAN_EDIT", "A reviewer may edit a plan or a step's args.")
    approvals_can_reject: bool = _setting(True, "PLANGATE_APPROVALS_CAN_REJECT", "A reviewer may reject a plan or a step.")
    weak_model: ModelName = _setting(
        "gpt-4o-mini", "PLANGATE_MODEL_WEAK", "Model for the router and the fast path." + _MODEL_HELP, str)
    default_model: ModelName = _setting(
        "gpt-4o-mini", "PLANGATE_MODEL_DEFAULT", "Model for the summarizer and llm steps." + _MODEL_HELP, str)
    strong_model: ModelName = _setting(
        "gpt-4o", "PLANGATE_MODEL_STRONG", "Model for the planner and the replanner." + _MODEL_HELP, str)
    base_url: str = _setting(
        "", "PLANGATE_BASE_URL", "OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp); empty means OpenAI or offline."
    )
    structured_method: StructuredMethod = _setting(
        "auto", "PLANGATE_STRUCTURED_METHOD", "How schemas are asked of a model; auto picks function calling.", str
    )
    model_timeout_s: float = _setting(60.0, "PLANGATE_MODEL_TIMEOUT_S", "Timeout of one model request, seconds.")
    model_max_retries: int = _setting(2, "PLANGATE_MODEL_MAX_RETRIES", "Retries of one model request (429/5xx).")
    max_repairs: int = _setting(2, "PLANGATE_MAX_REPAIRS", "Times bad model output is re-asked with its errors.")
    max_plan_steps: int = _setting(30, "PLANGATE_MAX_PLAN_STEPS", "Largest plan accepted from a model.")
    max_input_chars: int = _setting(20000, "PLANGATE_MAX_INPUT_CHARS", "Longest user message accepted.")
    answer_templates: bool = _setting(
        True, "PLANGATE_ANSWER_TEMPLATES", "Answer from the plan's answer template, with no model call, when every step completed."
    )
    plan_library: bool = _setting(True, "PLANGATE_PLAN_LIBRARY", "Reuse stored successful plans for repeat requests.")
    user_id: str = _setting("default", "PLANGATE_USER_ID", "Whose timers, memories and devices the tools use.")

    def __post_init__(self) -> None:
        if isinstance(self.approve_side_effects, bool | str):  # True/False (the old flag) and env spellings
            value = self.approve_side_effects
            word = ("on" if value else "off") if isinstance(value, bool) else value.strip().lower()
            self.approve_side_effects = _SWITCH_WORDS.get(word, word)  # type: ignore[assignment]
        for f in fields(self):
            value = getattr(self, f.name)
            kind = f.metadata["kind"]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                setattr(self, f.name, float(value))
            elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ContextError(f.name, f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
        self._check_ranges()

    def _check_ranges(self) -> None:
        for name in ("fast_threshold", "plan_threshold"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0 or value != value:
                raise ContextError(name, f"must be between 0 and 1, got {value}")
        if self.fast_threshold < self.plan_threshold:
            raise ContextError(
                "fast_threshold",
                f"must be >= plan_threshold ({self.fast_threshold} < {self.plan_threshold})",
            )
        if self.router_mode not in ("cascade", "llm", "rules"):
            raise ContextError("router_mode", f"must be cascade, llm or rules, got {self.router_mode!r}")
        if self.approve_side_effects not in ("on", "replanned", "off"):
            raise ContextError("approve_side_effects", f"must be on, replanned or off, got {self.approve_side_effects!r}")
        for name in ("weak_model", "default_model", "strong_model"):
            package = missing_package(getattr(self, name))
            if package:
                raise ContextError(name, f"{getattr(self, name)!r} needs the {package} package: pip install {package}")
        if self.structured_method not in ("auto", "function_calling", "json_schema", "json_mode"):
            raise ContextError("structured_method", f"unknown method {self.structured_method!r}")
        for name in ("step_timeout_s", "plan_timeout_s", "model_timeout_s"):
            if not math.isfinite(getattr(self, name)) or getattr(self, name) <= 0:  # inf/NaN would crash dispatch
                raise ContextError(name, f"must be > 0 seconds and finite, got {getattr(self, name)}")
        for name in ("max_replans", "step_retries", "model_max_retries", "max_repairs"):
            if getattr(self, name) < 0:
                raise ContextError(name, f"must be >= 0, got {getattr(self, name)}")
        for name in ("max_parallel_steps", "max_plan_steps", "max_input_chars"):
            if getattr(self, name) < 1:
                raise ContextError(name, f"must be >= 1, got {getattr(self, name)}")

    def recursion_limit(self) -> int:
        """Supersteps a run can need: each wave takes at most 4 (dispatch, approval, dispatch, run_step)
        and runs at least one step; replans are bounded by max_replans. Loops end by these counters."""
        most_steps = self.max_plan_steps * (self.max_replans + 1)
        return 12 + 4 * most_steps + 2 * self.max_replans

    @classmethod
    def from_env(cls, **overrides: Any) -> Context:
        """A Context built from the environment as it is now, with explicit `overrides` on top."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = os.environ.get(f.metadata["env"])
            values[f.name] = f.metadata["base"] if raw is None else _parse(raw, f.metadata["kind"], f.metadata["env"], f.name)
        values.update(overrides)
        return cls(**values)

    @classmethod
    def describe(cls) -> list[dict[str, Any]]:
        """One row per field: name, env var, built-in default and meaning (used by the README table)."""
        return [
            {
                "name": f.name,
                "env": f.metadata["env"],
                "default": f.metadata["base"] if f.default is not MISSING else None,
                "description": f.metadata["description"],
            }
            for f in fields(cls)
        ]


def coerce_context(value: Any) -> Context:
    """Accept a Context, a dict (as sent by Studio or the SDK) or None."""
    if isinstance(value, Context):
        return value
    if value is None:
        return Context()
    if isinstance(value, dict):
        known = {f.name for f in fields(Context)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ContextError(unknown[0], f"unknown field; known fields: {', '.join(sorted(known))}")
        return Context(**value)
    raise ContextError("context", f"expected Context or dict, got {type(value).__name__}")
