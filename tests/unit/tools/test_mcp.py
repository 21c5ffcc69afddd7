"""Bring-your-own tools: an MCP server's tools (via langchain-mcp-adapters) plug in with keywords for the rules."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from plangate.tools.metadata import describe_tool
from tests.helpers import config, make_graph, user

adapters = pytest.importorskip("langchain_mcp_adapters.client")
SERVER = Path(__file__).with_name("mcp_garden_server.py")


async def garden_tools():
    client = adapters.MultiServerMCPClient({"garden": {"command": sys.executable, "args": [str(SERVER)], "transport": "stdio"}})
    tools = await client.get_tools()
    return [describe_tool(t, keywords=["water", "garden", "plants"], slots={"plant": "label"}, side_effects=True)
            for t in tools]


async def test_mcp_tools_run_on_the_fast_path_and_in_plans(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANGATE_NOTIFY", str(tmp_path / "notify.log"))
    tools = await garden_tools()
    assert [t.name for t in tools] == ["water_plants"]
    graph = make_graph(tools={"garden": tools})
    out = await graph.ainvoke(user("water the tomatoes"), config())
    assert out["route"] == "fast" and out["messages"][-1].content == "Watered the tomatoes with 1 l."
    out = await graph.ainvoke(user("water the roses then notify me with the result"), config())
    assert [s["tool"] for s in out["plan"]["steps"]] == ["garden.water_plants", "notification.notify"]
    assert "Watered the roses with 1 l." in (tmp_path / "notify.log").read_text()
