"""The tool registry: domains, `domain.tool` plan names and provider-safe function names.

Plans name tools `domain.tool_name`. Providers reject dots in function names, so models see
`domain__tool_name`; `ToolRegistry.from_provider_name` maps back.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    from plangate.tools.llm import ModelFor

REFERENCE = re.compile(r"\{\{\s*step_(\d+)(?:\.([\w.\-]+))?\s*\}\}")
CONVERSATION = "conversation"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class UnknownToolError(KeyError):
    """A plan or a model named a tool the registry does not have."""

    def __str__(self) -> str:  # KeyError quotes its message; this keeps it readable
        return str(self.args[0])


class ToolRegistry:
    """Tools grouped by domain. Built-in domains plus whatever the user passes to build_graph."""

    def __init__(self, tools_by_domain: Mapping[str, Sequence[BaseTool]]) -> None:
        self._tools: dict[str, BaseTool] = {}
        self._schemas: dict[str, dict[str, Any]] = {}
        self._domain_of: dict[str, str] = {}
        for domain, tools in tools_by_domain.items():
            if not _NAME.match(domain):
                raise ValueError(f"domain {domain!r} must be lowercase letters, digits and _ (it becomes part of tool names)")
            for tool in tools:
                if not isinstance(tool, BaseTool):
                    raise TypeError(f"tools[{domain!r}] holds {tool!r}; expected a LangChain BaseTool (use @tool)")
                name = f"{domain}.{tool.name}"
                if name in self._tools:
                    raise ValueError(f"tool {name} is registered twice")
                meta = dict(tool.metadata or {})
                meta.setdefault("domain", domain)
                meta.setdefault("keywords", [])
                meta.setdefault("side_effects", False)
                meta.setdefault("slots", {})
                meta.setdefault("default", False)
                tool.metadata = meta
                self._tools[name] = tool
                self._domain_of[name] = domain

    # lookup ---------------------------------------------------------------------------------
    def names(self) -> list[str]:
        return list(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def get(self, name: str) -> BaseTool:
        try:
            return self._tools[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._tools, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; known tools: {', '.join(self._tools)}"
            raise UnknownToolError(f"unknown tool {name!r}{hint}") from None

    def domains(self) -> list[str]:
        """Every domain with tools, plus `conversation`, which answers without tools."""
        seen = dict.fromkeys(self._domain_of.values())
        seen[CONVERSATION] = None
        return list(seen)

    def tools_in(self, domain: str) -> list[str]:
        return [name for name, d in self._domain_of.items() if d == domain]

    def domain_of(self, name: str) -> str:
        return self._domain_of[name]

    def meta(self, name: str) -> dict[str, Any]:
        return self.get(name).metadata or {}

    def has_side_effects(self, name: str) -> bool:
        return bool(self.meta(name).get("side_effects"))

    def keywords(self, name: str) -> list[str]:
        return list(self.meta(name).get("keywords", []))

    # provider names -----------------------------------------------------------------------
    @staticmethod
    def provider_name(name: str) -> str:
        return name.replace(".", "__")

    def from_provider_name(self, provider_name: str) -> str:
        name = provider_name.replace("__", ".", 1) if "__" in provider_name else provider_name
        self.get(name)
        return name

    def provider_schema(self, name: str) -> dict[str, Any]:
        """The OpenAI function schema of a tool, renamed to its provider-safe name (cached; do not mutate)."""
        if name not in self._schemas:
            schema = convert_to_openai_tool(self.get(name))
            schema["function"]["name"] = self.provider_name(name)
            self._schemas[name] = schema
        return self._schemas[name]

    # validation ---------------------------------------------------------------------------
    def check_args(self, name: str, args: Mapping[str, Any]) -> list[str]:
        """Problems with `args` for tool `name`; fields that hold `{{step_N}}` references are checked later."""
        tool = self.get(name)
        referenced = {k for k, v in args.items() if isinstance(v, str) and REFERENCE.search(v)}
        schema = tool.args_schema
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            unknown = [f"{key}: unexpected argument; {name} takes {', '.join(schema.model_fields) or 'no arguments'}"
                       for key in args if key not in schema.model_fields]
            try:
                schema.model_validate(dict(args))
            except ValidationError as exc:
                return unknown + [
                    f"{'.'.join(str(p) for p in err['loc']) or 'args'}: {err['msg']}"
                    for err in exc.errors()
                    if not (err["loc"] and err["loc"][0] in referenced)
                ]
            return unknown
        if isinstance(schema, dict):
            props = schema.get("properties", {})
            problems = [f"{key}: field required" for key in schema.get("required", []) if key not in args]
            if schema.get("additionalProperties") is False:
                problems += [f"{key}: unexpected argument" for key in args if key not in props]
            return problems
        return []

    def catalog(self) -> str:
        """A compact description of every tool for planner prompts."""
        lines = []
        for name, tool in self._tools.items():
            params = tool.tool_call_schema
            if isinstance(params, type) and issubclass(params, BaseModel):
                fields = params.model_json_schema().get("properties", {})
            elif isinstance(params, dict):
                fields = params.get("properties", {})
            else:
                fields = {}
            args = ", ".join(f"{k}: {_type_name(v)}" for k, v in fields.items())
            effect = " [side effects]" if self.has_side_effects(name) else ""
            lines.append(f"- {name}({args}){effect}: {tool.description.strip().splitlines()[0]}")
        return "\n".join(lines)


def _type_name(field: Mapping[str, Any]) -> str:
    """'integer', 'string?' (optional), 'date-time', or a choice list, for catalog lines."""
    options = field.get("anyOf") or [field]
    names = []
    for option in options:
        if option.get("type") == "null":
            continue
        name = option.get("format") or option.get("type") or "any"
        if option.get("enum"):
            name = "|".join(map(str, option["enum"]))
        names.append(name)
    optional = any(o.get("type") == "null" for o in options)
    return ("/".join(names) or "any") + ("?" if optional else "")


def builtin_tools(llm_model: ModelFor | None = None) -> dict[str, list[BaseTool]]:
    """The domains plangate ships, each from its own module; `llm_model` gives llm.generate its model."""
    from plangate.tools import calendar, llm, memory, notification, search, smart_home, timer, weather

    return {
        "timer": timer.TOOLS,
        "calendar": calendar.TOOLS,
        "weather": weather.TOOLS,
        "smart_home": smart_home.TOOLS,
        "search": search.TOOLS,
        "memory": memory.TOOLS,
        "notification": notification.TOOLS,
        "llm": [llm.generate_tool(llm_model)],
    }


def build_registry(
    tools: Mapping[str, Iterable[BaseTool]] | None = None,
    *,
    include_builtin_tools: bool | Collection[str] = True,
    llm_model: ModelFor | None = None,
) -> ToolRegistry:
    """Built-in tools plus the user's, domain by domain.

    include_builtin_tools: True for every built-in domain, False for none, or the names of those to keep."""
    builtin = builtin_tools(llm_model)
    if include_builtin_tools is True or include_builtin_tools is False:
        keep = set(builtin) if include_builtin_tools else set()
    else:
        keep = set(include_builtin_tools)
        unknown = sorted(keep - set(builtin))
        if unknown:
            raise ValueError(f"include_builtin_tools: unknown built-in domain(s) {unknown}; choose from {sorted(builtin)}")
    merged: dict[str, list[BaseTool]] = {}
    for domain, items in builtin.items():
        if domain in keep:
            merged.setdefault(domain, []).extend(items)
    for domain, items in (tools or {}).items():
        merged.setdefault(domain, []).extend(items)
    return ToolRegistry(merged)
