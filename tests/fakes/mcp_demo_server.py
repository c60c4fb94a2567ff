"""A small MCP server over stdio, written with the official ``mcp`` SDK, for the tool tests.

Run as ``python tests/fakes/mcp_demo_server.py LOGFILE [PORT]``: every tool call appends a
line to LOGFILE, and the server writes its pid there at start, so a test can see the calls
and kill the process mid-conversation. With PORT it serves streamable HTTP on 127.0.0.1
(path /mcp) instead of stdio."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mcp.server.mcpserver import Context, MCPServer

LOG = Path(sys.argv[1]) if len(sys.argv) > 1 else None
app = MCPServer("demo")


def _log(line: str) -> None:
    if LOG is not None:
        with LOG.open("a", encoding="utf-8") as f:
            f.write(line + "\n")


@app.tool()
def shout(text: str, ctx: Context) -> str:
    """Return the text in capital letters."""
    _log(f"shout {text}")
    key = (ctx.headers or {}).get("x-api-key")
    if key:  # over HTTP: the header the client was configured with
        _log(f"x-api-key {key}")
    return text.upper() + "!"


@app.tool()
def secret_number() -> str:
    """Tell the secret number (admins only)."""
    _log("secret_number")
    return "The secret number is 4217."


if __name__ == "__main__":
    _log(f"pid {os.getpid()}")
    if len(sys.argv) > 2:
        app.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        app.run()
