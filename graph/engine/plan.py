"""Typed plans: `ExecutionPlan`, `PlanStep`, `Condition`, and validation against a registry.

`validate_plan` checks everything a plan needs to run and raises `PlanValidationError` that
lists every problem at once, so a model can repair them all in one round.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from plangate.tools.registry import REFERENCE

if TYPE_CHECKING:
    from plangate.tools.registry import ToolRegistry

StepType = Literal["normal", "conditional", "loop", "parallel", "fallback"]
ConditionOp = Literal["succeeded", "failed", "contains", "not_contains", "equals", "not_equals", "gt", "lt"]
SETTLED = ("completed", "failed", "skipped")
MAX_ARGS_DEPTH = 32  # levels of nesting a step's args may have (JSON-ish data, not a recursion bomb)
_PLAN_LEVELS = 3  # plan -> steps -> step, above a step's args
TOO_DEEP = "__plangate_nested_too_deep__"  # what `shallow_plan` leaves where it cut


def _too_deep(value: Any, limit: int) -> bool:
    """True if `value` nests deeper than `limit` containers or holds a `TOO_DEEP` cut (iterative: any depth)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, Mapping):
            children = list(current.values())
            if TOO_DEEP in current:
                return True
        elif isinstance(current, list | tuple):
            children = list(current)
        else:
            continue
        if depth + 1 > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def shallow_plan(value: Any, depth: int = 0) -> Any:
    """`value` (a plan as sent) with containers nested past the args limit replaced by a `TOO_DEEP` marker, so the
    request can be saved and fingerprinted, and `validate_plan` refuses it with a clear error."""
    if depth > MAX_ARGS_DEPTH + _PLAN_LEVELS and isinstance(value, Mapping | list | tuple):
        return {TOO_DEEP: MAX_ARGS_DEPTH}
    if isinstance(value, Mapping):
        return {key: shallow_plan(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [shallow_plan(item, depth + 1) for item in value]
    return value


class Condition(BaseModel):
    """A structured test over an earlier step's result. Never evaluated as code."""

    model_config = ConfigDict(extra="forbid")

    step: int = Field(description="id of the step whose result is tested")
    op: ConditionOp
    value: Any = Field(default=None, description="compared value; unused for succeeded/failed")
    field: str | None = Field(default=None, description="optional dotted path into the step's output")


class PlanStep(BaseModel):
    """One tool call in a plan."""

    model_config = ConfigDict(extra="forbid")

    id: int = Field(description="1..n, sequential")
    tool: str = Field(description="domain.tool_name")
    args: dict[str, Any] = Field(default_factory=dict, description="string values may hold {{step_N}} or {{step_N.field}}")
    description: str = ""
    depends_on: list[int] = Field(default_factory=list, description="ids of earlier steps")
    type: StepType = "normal"
    condition: Condition | None = None
    loop_count: int = Field(default=1, ge=1, le=100)
    fallback_for: int | None = None
    retries: int | None = Field(default=None, ge=0, le=10, description="None uses Context.step_retries")
    timeout_s: float | None = Field(default=None, gt=0, le=3600, description="None uses Context.step_timeout_s")
    stop_on_failure: bool = False

    @field_validator("tool")
    @classmethod
    def _dotted(cls, value: str) -> str:
        if value.count(".") != 1 or not all(value.split(".")):
            raise ValueError(f"tool must be 'domain.tool_name', got {value!r}")
        return value

    def references(self) -> set[int]:
        """Step ids referenced by `{{step_N}}` anywhere in the args."""
        found: set[int] = set()

        def walk(value: Any) -> None:
            if isinstance(value, str):
                found.update(int(m.group(1)) for m in REFERENCE.finditer(value))
            elif isinstance(value, dict):
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        walk(self.args)
        return found

    def prerequisites(self) -> set[int]:
        """Every step that must settle before this one may start."""
        needed = set(self.depends_on) | self.references()
        if self.fallback_for is not None:
            needed.add(self.fallback_for)
        if self.condition is not None and self.condition.step != self.id:
            needed.add(self.condition.step)
        return needed


class ExecutionPlan(BaseModel):
    """A validated plan. Stored in state as a plain dict (`model_dump`)."""

    model_config = ConfigDict(extra="forbid")

    plan_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    goal: str = ""
    reasoning: str = ""
    version: int = 1
    steps: list[PlanStep]
    answer: str | None = Field(default=None, description="answer template with {{step_N.field}} references")

    @classmethod
    def of(cls, state: Mapping[str, Any]) -> ExecutionPlan:
        """The typed view of the plan a run's state holds (as a plain dict)."""
        plan = state.get("plan")
        if plan is None:
            raise ValueError("the state holds no plan")
        return cls.model_validate(plan)

    def step(self, step_id: int) -> PlanStep:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)


class PlanDraft(BaseModel):
    """What the planner model returns: a plan without bookkeeping fields."""

    goal: str = Field(description="what the user wants, in one sentence")
    reasoning: str = Field(default="", description="why these steps, briefly")
    steps: list[PlanStep] = Field(description="the steps, ids 1..n in order")
    answer: str | None = Field(
        default=None,
        description="optional answer template, e.g. 'Done: {{step_1.message}}'. Only when the steps' results say "
        "everything the user needs; leave it out when the answer needs reasoning over the results",
    )


class PlanValidationError(ValueError):
    """A plan failed validation; `problems` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid plan:\n" + "\n".join(f"- {p}" for p in problems))


def _pydantic_problems(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in err['loc']) or 'plan'}: {err['msg']}" for err in exc.errors()]


def _step_problems(step: PlanStep, index: int, ids_before: set[int], registry: ToolRegistry | None) -> list[str]:
    where = f"step {step.id}"
    problems = []
    if step.id != index + 1:
        problems.append(f"{where}: ids must be sequential from 1; expected {index + 1}")
    for dep in step.depends_on:
        if dep == step.id:
            problems.append(f"{where}: depends on itself")
        elif dep not in ids_before:
            problems.append(f"{where}: depends_on {dep} is not an earlier step")
    for ref in sorted(step.references()):
        if ref not in ids_before:
            problems.append(f"{where}: references {{{{step_{ref}}}}}, which is not an earlier step")
    if step.type == "fallback":
        if step.fallback_for is None:
            problems.append(f"{where}: a fallback step needs fallback_for")
        elif step.fallback_for not in ids_before:
            problems.append(f"{where}: fallback_for {step.fallback_for} is not an earlier step")
    elif step.fallback_for is not None:
        problems.append(f"{where}: fallback_for is set but type is {step.type!r}, not 'fallback'")
    if step.type == "conditional" and step.condition is None:
        problems.append(f"{where}: a conditional step needs a condition")
    if step.condition is not None:
        target = step.condition.step
        allowed = ids_before | ({step.id} if step.type == "loop" else set())
        if target not in allowed:
            problems.append(f"{where}: condition refers to step {target}, which is not an earlier step")
        if step.condition.op in ("gt", "lt") and not isinstance(step.condition.value, int | float):
            problems.append(f"{where}: condition op {step.condition.op} needs a number value")
    if registry is not None:
        if step.tool not in registry:
            try:
                registry.get(step.tool)
            except KeyError as exc:
                problems.append(f"{where}: {exc}")
        else:
            problems += [f"{where}: args.{p}" for p in registry.check_args(step.tool, step.args)]
    return problems


def template_problems(template: str | None, step_ids: set[int]) -> list[str]:
    """Problems with an answer template: references checked like args (`{{step_N}}` / `{{step_N.field}}`,
    N a step of the plan), and no stray `{{` that is not a reference."""
    if template is None:
        return []
    problems = [f"answer: references {{{{step_{ref}}}}}, which is not a step of the plan"
                for ref in sorted({int(m.group(1)) for m in REFERENCE.finditer(template)} - step_ids)]
    stray = REFERENCE.sub("", template)
    if "{{" in stray or "}}" in stray:
        problems.append("answer: '{{' or '}}' that is not a step reference; write {{step_N}} or {{step_N.field}}")
    if not template.strip():
        problems.append("answer: an empty template; leave it out instead")
    return problems


def validate_plan(
    data: Any,
    registry: ToolRegistry | None = None,
    *,
    max_steps: int = 30,
    first_new_id: int = 1,
    drop_stale_answer: bool = False,
) -> ExecutionPlan:
    """Parse and check a plan (dict, JSON-like or ExecutionPlan); raise PlanValidationError listing all problems.

    `first_new_id` lets the replanner validate merged plans where only later steps are new.
    `drop_stale_answer`: an answer template that no longer fits the steps (a person edited them) is dropped, so the
    model writes the answer, instead of making the plan invalid.
    """
    if isinstance(data, ExecutionPlan):
        data = data.model_dump()
    if not isinstance(data, dict):
        raise PlanValidationError([f"plan must be an object with 'steps', got {type(data).__name__}"])
    raw_steps = data.get("steps")
    if isinstance(raw_steps, list) and len(raw_steps) > max_steps:
        raise PlanValidationError([f"steps: {len(raw_steps)} steps is more than the limit of {max_steps}"])
    if _too_deep(data, MAX_ARGS_DEPTH + _PLAN_LEVELS):  # before pydantic, which would recurse into it
        raise PlanValidationError([f"args: nested deeper than {MAX_ARGS_DEPTH} levels; send flatter arguments"])
    try:
        plan = ExecutionPlan.model_validate(data)
    except ValidationError as exc:
        raise PlanValidationError(_pydantic_problems(exc)) from None
    problems: list[str] = []
    if not plan.steps:
        problems.append("steps: a plan needs at least one step")
    ids_before: set[int] = set()
    for index, step in enumerate(plan.steps):
        checked_registry = registry if step.id >= first_new_id else None
        problems += _step_problems(step, index, ids_before, checked_registry)
        ids_before.add(step.id)
    stale = template_problems(plan.answer, ids_before)
    if stale and drop_stale_answer:
        plan.answer = None
    else:
        problems += stale
    if problems:
        raise PlanValidationError(problems)
    return plan
