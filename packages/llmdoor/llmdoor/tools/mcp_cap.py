"""A stdio MCP server behind a size cap, as it streams.

Run as ``python mcp_cap.py MAX_BYTES -- COMMAND ARGS...`` (the file, not the package: it
imports nothing but the standard library, so it starts in milliseconds). It starts the
server, passes the client's messages through, and passes the server's messages (one
JSON-RPC message per line) back, except a line longer than MAX_BYTES: that one is not
buffered beyond the cap and never reaches the client. If it was the answer to a request,
the client gets an error answer saying it was too large instead, so the server stays
usable; anything else that large is dropped.

Without it the MCP SDK reads a line whole, however long, and parses it on the event
loop: a 40 MB tool result stalled every user's answer."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import IO, Any

CHUNK = 1 << 16
HEAD = 4096  # what is kept of an oversized line: enough to find its id
TOO_LARGE = -32001  # the JSON-RPC error code of a reply that was not read
_ID = re.compile(rb'"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+)')


def too_large(head: bytes, cap: int) -> bytes | None:
    """The reply that stands in for an oversized answer; None for a message that is not
    an answer to a request (a notification, or the server asking the client)."""
    if b'"method"' in head[:512]:
        return None
    found = _ID.search(head)
    if found is None:
        return None
    note = f"The tool's result was larger than {cap} bytes and was not read."
    # An error answer, not a result: a result would be checked against the tool's output
    # schema. The server itself is fine, and stays in use.
    reply = {
        "jsonrpc": "2.0",
        "id": json.loads(found.group(1)),
        "error": {"code": TOO_LARGE, "message": note},
    }
    return json.dumps(reply).encode() + b"\n"


class LineCap:
    """Splits the server's output into lines, passing those within ``cap`` bytes on."""

    def __init__(self, out: IO[bytes], cap: int) -> None:
        self._out = out
        self._cap = cap
        self._line = bytearray()
        self._over = False
        self._head = b""
        self.dropped = 0

    def feed(self, chunk: bytes) -> None:
        start = 0
        while start < len(chunk):
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start : end + 1]
            if not self._over and len(self._line) + len(piece) > self._cap:
                self._over = True
                self._head = bytes(self._line[:HEAD]) + piece[: max(0, HEAD - len(self._line))]
                self._line.clear()
            if not self._over:
                self._line += piece
            if end < 0:
                return
            if self._over:
                self._over = False
                self.dropped += 1
                reply = too_large(self._head, self._cap)
                if reply is not None:
                    self._write(reply)
            else:
                self._write(bytes(self._line))
                self._line.clear()
            start = end + 1

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._out.flush()


def _pump_in(source: int, server: IO[bytes]) -> None:
    """The client's messages to the server, until the client closes its end."""
    try:
        while chunk := os.read(source, CHUNK):
            server.write(chunk)
            server.flush()
    except OSError:
        pass  # the server went away: the output side sees it too
    finally:
        with contextlib.suppress(OSError):
            server.close()


def body_cap(cap: int) -> Callable[[Any], Awaitable[None]]:
    """An httpx2 response hook for MCP over HTTP: a JSON answer's body is read through a
    counter that fails past ``cap`` bytes (the SDK then answers the request with an error)
    instead of being read whole. SSE answers have the SDK's own per-event limit."""
    import httpx2  # the MCP SDK's HTTP client; only this hook needs it

    class CappedBody(httpx2.AsyncByteStream):
        def __init__(self, inner: Any) -> None:
            self._inner = inner

        async def __aiter__(self) -> AsyncIterator[bytes]:
            seen = 0
            async for chunk in self._inner:
                seen += len(chunk)
                if seen > cap:
                    raise httpx2.StreamError(f"The MCP server's answer is larger than {cap} bytes.")
                yield chunk

        async def aclose(self) -> None:
            await self._inner.aclose()

    async def hook(response: Any) -> None:
        if response.headers.get("content-type", "").lower().startswith("application/json"):
            response.stream = CappedBody(response.stream)

    return hook


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        sys.stderr.write("usage: mcp_cap.py MAX_BYTES -- COMMAND [ARGS...]\n")
        return 2
    cap, command = int(argv[1]), argv[3:]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert server.stdin is not None and server.stdout is not None

    def stop(signum: int, _frame: object) -> None:
        server.terminate()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=_pump_in, args=(sys.stdin.fileno(), server.stdin), daemon=True).start()
    lines = LineCap(sys.stdout.buffer, cap)
    try:
        while chunk := os.read(server.stdout.fileno(), CHUNK):
            lines.feed(chunk)
    except BrokenPipeError:
        server.terminate()  # the client is gone
    return server.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
