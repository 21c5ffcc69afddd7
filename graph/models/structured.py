"""Ask a model for a schema, validate, and repair: the bounded loop behind router, planner and replanner.

Methods (`Context.structured_method`; "auto" is decided per endpoint by `plangate.graph.models.tiers`):
- function_calling: the schema is bound as a tool with a forced named `tool_choice`. It works on
  OpenAI and on llama.cpp-class servers, which turn the schema into a decoding grammar.
- json_schema: `response_format` json_schema (OpenAI, vLLM; llama.cpp answers HTTP 500).
- json_mode: `response_format` json_object plus the schema in the prompt (and as llama.cpp's
  `schema` extension on non-OpenAI endpoints).
The schema sent is grammar-friendly: untyped fields get explicit JSON types, and `choices` turn
named fields into enums (the registry's tool names, the known domains). A call written as JSON text
is parsed too. Invalid output is sent back with its validation errors, at most `max_repairs` times;
then the caller gets `StructuredFailure`.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.constants import TAG_NOSTREAM
from pydantic import BaseModel, ValidationError

from plangate.graph.engine.plan import PlanValidationError
from plangate.graph.io import IO
from plangate.graph.models.jsontext import parse_tool_call_text
from plangate.graph.models.tiers import endpoint_profile, structured_method

T = TypeVar("T")


def internal(model: Runnable) -> Runnable:
    """`model` tagged `langsmith:nostream`: its tokens and tool calls stay out of `messages` streams and chat UIs.

    Every model call but the answer (router, planner, replanner, the fast path's tool choice, llm steps) is internal."""
    return model.with_config(tags=[TAG_NOSTREAM])


@dataclass
class Usage:
    """Model calls and tokens spent by one node; becomes its `metrics` update."""

    llm_calls: int = 0
    repairs: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, reply: Any) -> None:
        self.llm_calls += 1
        usage = getattr(reply, "usage_metadata", None) or {}
        self.input_tokens += int(usage.get("input_tokens", 0) or 0)
        self.output_tokens += int(usage.get("output_tokens", 0) or 0)
        self.total_tokens += int(usage.get("total_tokens", 0) or 0)

    def metrics(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if isinstance(v, int) and v}


class StructuredFailure(Exception):
    """The model never produced valid output within the repair bound."""

    def __init__(self, schema: str, problems: list[str], attempts: int) -> None:
        self.problems = problems
        self.attempts = attempts
        super().__init__(f"{schema}: no valid answer after {attempts} attempt(s): " + "; ".join(problems[:5]))


def _problems(exc: Exception) -> list[str]:
    if isinstance(exc, PlanValidationError):
        return exc.problems
    if isinstance(exc, ValidationError):
        return [f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()]
    return [str(exc)]


def _arguments(reply: AIMessage, name: str) -> dict[str, Any] | None:
    for call in reply.tool_calls or []:
        if call["name"] == name:
            return call["args"]
    for invalid in getattr(reply, "invalid_tool_calls", None) or []:
        if invalid.get("name") == name:
            raise ValueError(f"arguments are not valid JSON: {str(invalid.get('args'))[:200]}")
    text = reply.content if isinstance(reply.content, str) else ""
    parsed = parse_tool_call_text(text, [name])
    return parsed[1] if parsed else None


_JSON_TYPES = ["string", "number", "boolean", "null"]
_SHAPE_KEYS = {"type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const", "properties", "items"}


def _tighten(node: Any, choices: Mapping[str, Sequence[str]]) -> None:
    """In place: untyped leaves get explicit JSON types; properties named in `choices` become enums."""
    if isinstance(node, list):
        for item in node:
            _tighten(item, choices)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            for prop, sub in value.items():
                if prop in choices and isinstance(sub, dict) and sub.get("type") == "string":
                    sub["enum"] = list(choices[prop])
                elif isinstance(sub, dict) and not _SHAPE_KEYS & sub.keys():
                    sub["type"] = list(_JSON_TYPES)
                _tighten(sub, choices)
        elif isinstance(value, dict | list):
            _tighten(value, choices)


def tool_spec(schema: type[BaseModel], choices: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """The OpenAI tool dict for `schema`, made safe for grammar-constrained servers (see module doc).

    Cached per schema and choices (building it costs ~2 ms per call); treat the result as read-only."""
    key = tuple(sorted((k, tuple(v)) for k, v in (choices or {}).items() if v))
    return _cached_tool_spec(schema, key)


@functools.lru_cache(maxsize=256)
def _cached_tool_spec(schema: type[BaseModel], choices: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, Any]:
    spec = copy.deepcopy(convert_to_openai_tool(schema))
    _tighten(spec["function"]["parameters"], {k: list(v) for k, v in choices})
    return spec


def bind_schema(model: BaseChatModel, spec: dict[str, Any], method: str) -> tuple[Runnable, list[BaseMessage]]:
    """The model bound for `method`, and the messages to add (the schema, for the JSON-text methods)."""
    name = spec["function"]["name"]
    if method == "function_calling":
        return model.bind_tools([spec], tool_choice=name), []
    params = spec["function"]["parameters"]
    ask = HumanMessage(
        f"Answer with only a JSON object for {name} ({spec['function'].get('description', '')}) "
        f"matching this JSON schema:\n{json.dumps(params, ensure_ascii=False)}"
    )
    if method == "json_schema":
        fmt: dict[str, Any] = {"type": "json_schema", "json_schema": {"name": name, "schema": params, "strict": False}}
    else:
        fmt = {"type": "json_object"}
        if endpoint_profile(model).kind == "compatible":
            fmt["schema"] = params  # llama.cpp's extension: the schema becomes a decoding grammar
    return model.bind(response_format=fmt), [ask]


async def ask_structured(
    io: IO,
    model: BaseChatModel,
    messages: list[BaseMessage],
    schema: type[BaseModel],
    usage: Usage,
    *,
    max_repairs: int,
    check: Callable[[Any], T] | None = None,
    method: str = "auto",
    choices: Mapping[str, Sequence[str]] | None = None,
    max_tokens: int | None = None,
) -> Any:
    """A validated `schema` instance (or `check(instance)`); raises StructuredFailure.

    method: a Context.structured_method value; "auto" picks per endpoint. choices: enums for named fields.
    max_tokens: a cap for small answers (a looping small model stops early; invalid output is repaired).
    """
    name = schema.__name__
    bound, extra = bind_schema(model, tool_spec(schema, choices), structured_method(method, model))
    if max_tokens:
        bound = bound.bind(max_tokens=max_tokens)
    bound = internal(bound)
    conversation = [*messages, *extra]
    problems: list[str] = []
    attempts = 0
    for attempt in range(max_repairs + 1):
        attempts = attempt + 1
        reply = await io.model(bound, conversation)
        usage.add(reply)
        try:
            args = _arguments(reply, name)
            if args is None:
                raise ValueError(f"no {name} call in the reply; call the {name} tool with the arguments")
            value = schema.model_validate(args)
            return check(value) if check else value
        except (ValidationError, PlanValidationError, ValueError, TypeError, KeyError) as exc:
            problems = _problems(exc)
        if attempt == max_repairs:
            break
        usage.repairs += 1
        feedback = f"Your {name} was invalid:\n" + "\n".join(f"- {p}" for p in problems) + f"\nCall {name} again with every problem fixed."
        conversation += repair_turn(reply, name, feedback, textual=endpoint_profile(model).kind == "compatible")
    raise StructuredFailure(name, problems, attempts)


def repair_turn(reply: AIMessage, name: str, feedback: str, *, textual: bool) -> list[BaseMessage]:
    """The messages that show the model its invalid answer and what was wrong with it.

    OpenAI-style: the tool call and a ToolMessage answering it. `textual` (OpenAI-compatible servers,
    which may reject an assistant turn whose content is null, or drop tool calls from the prompt): the
    call replayed as JSON text, then the feedback as a user turn, which every chat template renders.
    """
    calls = reply.tool_calls or []
    if calls and not textual:
        return [reply, *(ToolMessage(content=feedback, tool_call_id=c["id"] or "call") for c in calls),
                HumanMessage(content=f"Fix the problems and call {name} again.")]
    if calls:
        said = json.dumps([{"name": c["name"], "arguments": c["args"]} for c in calls], ensure_ascii=False, default=str)
    else:
        broken = [str(c.get("args") or "") for c in getattr(reply, "invalid_tool_calls", None) or []]
        said = str(reply.content) or "\n".join(broken)
    return [AIMessage(content=said[:4000] or "(no answer)"), HumanMessage(content=feedback)]
