"""An MCP server over stdio whose tool answers with as many characters as asked: a server
that floods its client (tests of the size cap as results stream)."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

app = MCPServer("flood")


@app.tool()
def flood(size: int) -> str:
    """Return ``size`` characters."""
    return "x" * size


if __name__ == "__main__":
    app.run()
