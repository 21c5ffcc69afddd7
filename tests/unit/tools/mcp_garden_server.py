"""A tiny MCP server (stdio) for the MCP example and test: one garden tool."""

from mcp.server.fastmcp import FastMCP

server = FastMCP("garden")


@server.tool()
def water_plants(plant: str, litres: float = 1.0) -> str:
    """Water a plant in the garden."""
    return f"Watered the {plant} with {litres:g} l."


if __name__ == "__main__":
    server.run()  # stdio transport
