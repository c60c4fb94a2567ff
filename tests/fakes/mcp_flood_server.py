"""An MCP server whose tool answers with as many characters as asked: a server that floods
its client (tests of the size cap as results stream).

``python tests/fakes/mcp_flood_server.py``: over stdio; with ``PORT [json]``: streamable
HTTP on 127.0.0.1 (path /mcp), answering in SSE events, or in JSON bodies with ``json``."""

from __future__ import annotations

import sys

from mcp.server.mcpserver import MCPServer

app = MCPServer("flood")


@app.tool()
def flood(size: int) -> str:
    """Return ``size`` characters."""
    return "x" * size


if __name__ == "__main__":
    if len(sys.argv) > 1:
        app.run(
            "streamable-http",
            host="127.0.0.1",
            port=int(sys.argv[1]),
            json_response=sys.argv[2:] == ["json"],
        )
    else:
        app.run()
