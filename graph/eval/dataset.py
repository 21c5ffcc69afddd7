"""Labelled requests for `plangate eval`: JSONL, one `{"text", "route", "domains", "tools"?}` per line."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROUTES = ("fast", "plan")
CONVERSATION = "conversation"
REASONING = "llm"  # a plan may use it to reason over results; it counts only when the label lists it


class DatasetError(ValueError):
    """A labelled file cannot be read; the message names the file, the line and what to fix."""


@dataclass(frozen=True)
class LabelledRequest:
    text: str
    route: str
    domains: frozenset[str]
    tools: tuple[str, ...] = ()
    source: str = field(default="", compare=False)

    def required(self) -> Counter[str]:
        """Actions per domain the request needs: from `tools` (repeats count) or one per labelled domain."""
        if self.tools:
            return Counter(name.split(".", 1)[0] for name in self.tools)
        return Counter({d: 1 for d in self.domains})


def _parse(line: str, where: str) -> LabelledRequest:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: not JSON ({exc.msg}); write one object per line") from None
    if not isinstance(item, dict):
        raise DatasetError(f"{where}: expected an object like {{\"text\": ..., \"route\": ..., \"domains\": [...]}}")
    text, route, domains, tools = item.get("text"), item.get("route"), item.get("domains"), item.get("tools", [])
    if not isinstance(text, str) or not text.strip():
        raise DatasetError(f"{where}: \"text\" must be a non-empty string")
    if route not in ROUTES:
        raise DatasetError(f"{where}: \"route\" must be \"fast\" or \"plan\", got {route!r}")
    if not isinstance(domains, list) or not domains or not all(isinstance(d, str) and d for d in domains):
        raise DatasetError(f"{where}: \"domains\" must be a non-empty list of domain names, e.g. [\"timer\"]")
    if not isinstance(tools, list) or not all(isinstance(t, str) and t.count(".") == 1 for t in tools):
        raise DatasetError(f"{where}: \"tools\" must be a list of \"domain.tool\" names")
    outside = sorted({t.split(".")[0] for t in tools} - set(domains))
    if outside:
        raise DatasetError(f"{where}: \"tools\" names domain(s) {outside} missing from \"domains\"")
    if route == "fast" and (len(set(domains)) != 1 or len(tools) > 1):
        raise DatasetError(f"{where}: a \"fast\" request acts in exactly one domain with at most one tool")
    return LabelledRequest(" ".join(text.split()), route, frozenset(domains), tuple(tools), where)


def _files(paths: Iterable[str | Path]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found.extend(sorted(path.glob("*.jsonl")))
        elif path.is_file():
            found.append(path)
        else:
            raise DatasetError(f"{path}: no such file or folder; give JSONL files or a folder holding *.jsonl")
    if not found:
        raise DatasetError("no *.jsonl files found; give JSONL files or a folder holding them")
    return found


def load(paths: Iterable[str | Path]) -> list[LabelledRequest]:
    """Every labelled request in the given files (folders: their *.jsonl), in order."""
    items: list[LabelledRequest] = []
    for path in _files(paths):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise DatasetError(f"{path}: cannot read it ({exc})") from None
        items.extend(_parse(line, f"{path.name}:{number}") for number, line in enumerate(lines, 1) if line.strip())
    if not items:
        raise DatasetError("the labelled files hold no requests")
    return items
