"""plangate as `langgraph dev` serves it, plus two test tools: `test.echo` and `test.slow`.

Both append one line per call to the file named by PLANGATE_TEST_SIDE_EFFECTS, so a test can count
side effects across a cancel and a resume. Only the integration tests' server config loads this module.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from langchain_core.tools import tool

from plangate import build_graph
from plangate.tools.metadata import describe_tool


def _record(line: str) -> None:
    path = os.environ.get("PLANGATE_TEST_SIDE_EFFECTS")
    if path:
        with Path(path).open("a", encoding="utf-8") as log:
            log.write(line + "\n")


@tool("echo")
async def echo(text: str) -> dict:
    """Echo `text` back (one side effect)."""
    await asyncio.to_thread(_record, f"echo {text}")
    return {"message": f"echo: {text}", "text": text}


@tool("slow")
async def slow(seconds: float, label: str = "slow") -> dict:
    """Wait `seconds` without blocking, recording the start and the end."""
    await asyncio.to_thread(_record, f"slow-start {label}")
    await asyncio.sleep(seconds)
    await asyncio.to_thread(_record, f"slow-end {label}")
    return {"message": f"{label} done after {seconds:g}s", "label": label}


TEST_TOOLS = {"test": [describe_tool(echo, keywords=["echo"]), describe_tool(slow, keywords=["slow"])]}

graph = build_graph(tools=TEST_TOOLS, name="plangate_test")
