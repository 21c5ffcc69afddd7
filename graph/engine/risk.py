"""Which plan steps need a person's approval before they run (`Context.approve_side_effects`, high-risk devices).

- "on": every side-effecting step.
- "replanned" (the default): side-effecting steps that the replanner added and that the plan as approved did not
  already have (same tool and args, step references aside). A tool output that talks the replanner into a new
  action, the common prompt-injection path, then needs a person; a retry of a planned step does not.
- "off": none of the above.
Whatever the setting, a change to a high-risk device (`Context.high_risk_devices`, locks by default) always needs
approval. A device named only through a step reference counts as high-risk: it cannot be checked before it runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from plangate.graph.context import Context
from plangate.graph.engine.plan import ExecutionPlan, PlanStep
from plangate.tools.registry import ToolRegistry
from plangate.tools.smart_home import ALIASES

_REFERENCE = re.compile(r"\{\{\s*step_\d+")
_WORD = re.compile(r"[a-z0-9]+")


def side_effect_mode(state: Mapping[str, Any], ctx: Context) -> str:
    """on / replanned / off for this turn: fixed when the turn starts (see `intake.approval_policy`)."""
    policy = state.get("approval_policy")
    value = policy.get("side_effects") if isinstance(policy, Mapping) else ctx.approve_side_effects
    if isinstance(value, bool):  # checkpoints written before the setting had three values
        return "on" if value else "off"
    return value if value in ("on", "replanned", "off") else "on"


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower().replace("_", " ")))


def high_risk_device(args: Mapping[str, Any], ctx: Context) -> bool:
    """True when `args` name a device of a high-risk kind or id (or name it through a reference, unknown yet)."""
    device = args.get("device")
    if not isinstance(device, str):
        return False
    if _REFERENCE.search(device):
        return True
    named = _words(device)
    for entry in (e.strip().lower() for e in ctx.high_risk_devices.split(",")):
        if not entry:
            continue
        kind_words = (ALIASES[entry] | {entry}) if entry in ALIASES else set()
        if named & kind_words or _words(entry) <= named:
            return True
    return False


def _signature(step: PlanStep) -> str:
    return f"{step.tool} {_REFERENCE.sub('{{step_', json.dumps(step.args, sort_keys=True, default=str))}"


def replanned_steps(plan: ExecutionPlan, baseline: int | None) -> set[int]:
    """Steps added after the plan was approved (`baseline` steps) that repeat none of its steps."""
    cut = baseline if baseline is not None else 0  # unknown: every step counts as added (fail closed)
    approved = {_signature(s) for s in plan.steps if s.id <= cut}
    return {s.id for s in plan.steps if s.id > cut and _signature(s) not in approved}


def needs_approval(plan: ExecutionPlan, state: Mapping[str, Any], ctx: Context, registry: ToolRegistry) -> set[int]:
    """Ids of the steps that must be approved before they run."""
    mode = side_effect_mode(state, ctx)
    effects = {s.id for s in plan.steps if registry.has_side_effects(s.tool)}
    risky = {s.id for s in plan.steps if s.id in effects and high_risk_device(s.args, ctx)}
    if mode == "on":
        return effects
    if mode == "replanned":
        return risky | (effects & replanned_steps(plan, state.get("plan_baseline")))
    return risky


def call_needs_approval(tool: str, args: Mapping[str, Any], state: Mapping[str, Any], ctx: Context,
                        registry: ToolRegistry) -> bool:
    """For the fast path's one call: approve_side_effects "on", or a high-risk device."""
    if not registry.has_side_effects(tool):
        return False
    return side_effect_mode(state, ctx) == "on" or high_risk_device(args, ctx)
