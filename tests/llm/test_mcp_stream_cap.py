"""MCP results are capped as they stream: a server's oversized message never reaches the
SDK (which would read it whole and parse it on the event loop)."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import time
from pathlib import Path

import pytest

from llmdoor.tools.mcp import MCPManager, MCPServerConfig, MCPToolError
from llmdoor.tools.mcp_cap import LineCap, too_large

FLOOD = str(Path(__file__).resolve().parents[1] / "fakes" / "mcp_flood_server.py")


def test_lines_within_the_cap_pass_and_an_oversized_answer_becomes_a_note() -> None:
    out = io.BytesIO()
    lines = LineCap(out, cap=100)
    big = b'{"jsonrpc":"2.0","id":7,"result":{"content":"' + b"x" * 500 + b'"}}\n'
    stream = b'{"a":1}\n' + big + b'{"b":2}\n'
    for i in range(0, len(stream), 13):  # in chunks, as a pipe delivers them
        lines.feed(stream[i : i + 13])
    written = out.getvalue().splitlines()
    assert written[0] == b'{"a":1}' and written[2] == b'{"b":2}'
    note = json.loads(written[1])
    assert note["id"] == 7 and note["error"]["code"] == -32001
    assert "larger than 100 bytes" in note["error"]["message"]
    assert lines.dropped == 1


def test_an_oversized_notification_is_dropped() -> None:
    assert too_large(b'{"jsonrpc":"2.0","method":"notifications/message","params":', 10) is None
    assert too_large(b'{"jsonrpc":"2.0","result":', 10) is None  # no id to answer
    reply = too_large(b'{"jsonrpc":"2.0","id":"abc","result":{"content":[', 10)
    assert reply is not None and json.loads(reply)["id"] == "abc"


@pytest.fixture
async def flood() -> MCPManager:
    found = MCPManager(
        [MCPServerConfig("flood", command=sys.executable, args=(FLOOD,))],
        timeout=30,
        retry_seconds=0.5,
        max_result_chars=1_000,
    )
    found.start()
    await found.wait_ready(30)
    yield found  # type: ignore[misc]
    await found.aclose()


async def test_a_flooding_server_is_refused_as_it_streams_and_stays_usable(
    flood: MCPManager,
) -> None:
    tool = next(t for t in flood.tools() if t.name == "flood__flood")
    # 5 million characters: the cap (about 71 KB here) stops them in the cap's process.
    lag = 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal lag
        while not stop.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            lag = max(lag, time.perf_counter() - start - 0.01)

    ticking = asyncio.create_task(ticker())
    with pytest.raises(MCPToolError, match="larger than"):
        await tool.run({"size": 5_000_000})
    stop.set()
    await ticking
    # The server is still up and answers within the cap.
    assert flood.states()["flood"] == "up"
    assert await tool.run({"size": 10}) == "x" * 10
    print(f"worst loop lag while 5 MB were refused: {lag * 1000:.1f} ms")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("mode", ["sse", "json"])
async def test_a_flooding_http_server_is_refused_as_it_streams_and_stays_usable(
    mode: str,
) -> None:
    port = _free_port()
    args = [FLOOD, str(port)] + (["json"] if mode == "json" else [])
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    manager = MCPManager(
        [MCPServerConfig("web", url=f"http://127.0.0.1:{port}/mcp")],
        timeout=30,
        retry_seconds=0.3,
        max_result_chars=1_000,
    )
    try:
        manager.start()
        for _ in range(600):
            if manager.states()["web"] == "up":
                break
            await asyncio.sleep(0.1)
        tool = next(t for t in manager.tools() if t.name == "web__flood")
        with pytest.raises(MCPToolError):
            await tool.run({"size": 5_000_000})
        assert manager.states()["web"] == "up"
        assert await tool.run({"size": 10}) == "x" * 10
    finally:
        await manager.aclose()
        process.kill()
        await process.wait()
