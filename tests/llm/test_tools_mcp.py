"""MCP servers as tools, with a small MCP server written with the official SDK
(tests/fakes/mcp_demo_server.py) over stdio and streamable HTTP: tools listed with the
server's name as prefix and called; a server that dies, never starts or does not answer
loses its tools with a warning, and one that comes back gets them back."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from subprocess import DEVNULL

import pytest

from llmdoor.tools import ToolArgumentsError
from llmdoor.tools.calls import SourceBook, run_tool
from llmdoor.tools.mcp import (
    MCPConfigError,
    MCPManager,
    MCPServerConfig,
    MCPToolError,
    argument_check,
    load_servers_file,
    parse_servers,
)

DEMO = str(Path(__file__).resolve().parents[1] / "fakes" / "mcp_demo_server.py")


def demo_config(log: Path, name: str = "demo") -> MCPServerConfig:
    return MCPServerConfig(name, command=sys.executable, args=(DEMO, str(log)))


def server_pids(log: Path) -> list[int]:
    if not log.exists():
        return []
    return [int(line.split()[1]) for line in log.read_text().splitlines() if line.startswith("pid")]


async def until(predicate, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


def test_servers_file_shapes(tmp_path: Path) -> None:
    data = {
        "mcpServers": {
            "files": {"command": "uvx", "args": ["mcp-server-fetch"], "env": {"A": 1}},
            "wiki.main": {"url": "http://127.0.0.1:9/mcp", "headers": {"X-Key": "k"}},
            "off": {"command": "x", "disabled": True},
        }
    }
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps(data))
    servers = load_servers_file(path)
    assert [s.name for s in servers] == ["files", "wiki_main"]
    assert servers[0].args == ("mcp-server-fetch",) and servers[0].env == {"A": "1"}
    assert servers[1].url == "http://127.0.0.1:9/mcp"
    yaml_path = tmp_path / "mcp.yaml"
    yaml_path.write_text("servers:\n  demo:\n    command: python3\n    args: [server.py]\n")
    assert load_servers_file(yaml_path)[0].command == "python3"
    with pytest.raises(MCPConfigError, match="needs a 'command' or a 'url'"):
        parse_servers({"mcpServers": {"bad": {"args": []}}})
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(MCPConfigError, match="not valid"):
        load_servers_file(broken)


@pytest.fixture
async def manager(tmp_path: Path) -> AsyncIterator[tuple[MCPManager, Path]]:
    log = tmp_path / "calls.log"
    found = MCPManager([demo_config(log)], timeout=10, retry_seconds=0.5)
    found.start()
    await found.wait_ready(30)
    yield found, log
    await found.aclose()


async def test_stdio_tools_are_listed_and_called(manager: tuple[MCPManager, Path]) -> None:
    mcp, log = manager
    tools = {t.name: t for t in mcp.tools()}
    assert set(tools) == {"demo__shout", "demo__secret_number"}
    shout = tools["demo__shout"]
    assert shout.description == "Return the text in capital letters."
    assert shout.parameters["required"] == ["text"] and "mcp" in shout.tags
    assert await shout.run({"text": "hello"}) == "HELLO!"
    assert "shout hello" in log.read_text()


async def test_arguments_are_checked_against_the_schema_before_the_call(
    manager: tuple[MCPManager, Path],
) -> None:
    mcp, log = manager
    shout = next(t for t in mcp.tools() if t.name == "demo__shout")
    for bad, problem in (
        ({}, "'text' is a required property"),
        ({"text": 5}, "text: 5 is not of type 'string'"),
        ({"text": ["a"]}, "text: ['a'] is not of type 'string'"),
    ):
        with pytest.raises(ToolArgumentsError, match=re.escape(problem)):
            await shout.run(bad)
    outcome = await run_tool(shout, shout.name, {"text": 5}, 10, SourceBook())
    assert not outcome.ok and outcome.content.startswith("Error: bad arguments: text: 5")
    assert "shout" not in log.read_text()  # the server was never asked
    assert await shout.run({"text": "fine"}) == "FINE!"


def test_a_schema_that_cannot_check_lets_the_server_judge() -> None:
    broken = argument_check({"type": "object", "properties": {"a": {"type": 12}}}, "x")
    broken({"a": 1})  # an invalid schema checks nothing
    remote = argument_check(
        {"type": "object", "properties": {"a": {"$ref": "https://schemas.invalid/a.json"}}}, "y"
    )
    remote({"a": 1})  # a reference to a document we do not have: never fetched, no check
    strict = argument_check(
        {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}, "z"
    )
    with pytest.raises(ToolArgumentsError, match="n: 0 is less than the minimum of 1"):
        strict({"n": 0})


async def test_a_killed_server_loses_its_tools_and_comes_back(
    manager: tuple[MCPManager, Path], caplog: pytest.LogCaptureFixture
) -> None:
    mcp, log = manager
    shout = next(t for t in mcp.tools() if t.name == "demo__shout")
    first = server_pids(log)[-1]
    os.kill(first, signal.SIGKILL)
    with caplog.at_level(logging.WARNING, logger="llmdoor.tools.mcp"):
        with pytest.raises(MCPToolError, match="demo"):
            await shout.run({"text": "anyone?"})
        await until(lambda: mcp.states()["demo"] != "up" or len(server_pids(log)) > 1)
    assert any("demo" in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    # The supervisor starts a new process after retry_seconds, and the tools are back.
    await until(lambda: mcp.states()["demo"] == "up" and len(server_pids(log)) > 1)
    again = next(t for t in mcp.tools() if t.name == "demo__shout")
    assert await again.run({"text": "back"}) == "BACK!"


async def test_servers_that_fail_or_hang_offer_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)  # accepts, never answers

    hang = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = hang.sockets[0].getsockname()[1]
    mcp = MCPManager(
        [
            MCPServerConfig("missing", command="/nonexistent/mcp-server"),
            MCPServerConfig("crashes", command=sys.executable, args=("-c", "raise SystemExit(3)")),
            MCPServerConfig("slow", url=f"http://127.0.0.1:{port}/mcp"),
            demo_config(tmp_path / "log"),
        ],
        timeout=8.0,  # the demo server needs a second or two to start on a busy machine
        retry_seconds=60,
    )
    try:
        with caplog.at_level(logging.WARNING, logger="llmdoor.tools.mcp"):
            mcp.start()
            await mcp.wait_ready(30)
        states = mcp.states()
        assert states == {"missing": "down", "crashes": "down", "slow": "down", "demo": "up"}
        assert {t.name.split("__")[0] for t in mcp.tools()} == {"demo"}
        warned = " ".join(r.getMessage() for r in caplog.records)
        assert "missing" in warned and "crashes" in warned and "slow" in warned
    finally:
        await mcp.aclose()
        hang.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_streamable_http_server(tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "http.log"
    process = await asyncio.create_subprocess_exec(
        sys.executable, DEMO, str(log), str(port), stdout=DEVNULL, stderr=DEVNULL
    )
    mcp = MCPManager(
        [MCPServerConfig("web", url=f"http://127.0.0.1:{port}/mcp")], timeout=5, retry_seconds=0.3
    )
    try:
        mcp.start()
        await until(lambda: mcp.states()["web"] == "up", seconds=60)
        shout = next(t for t in mcp.tools() if t.name == "web__shout")
        assert await shout.run({"text": "over http"}) == "OVER HTTP!"
    finally:
        await mcp.aclose()
        process.kill()
        await process.wait()


async def test_streamable_http_server_with_headers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mcp.shared._httpx_utils as httpx_utils

    made: list = []  # type: ignore[type-arg]
    original = httpx_utils.create_mcp_http_client

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        client = original(*args, **kwargs)
        made.append(client)
        return client

    monkeypatch.setattr(httpx_utils, "create_mcp_http_client", recording)
    port = _free_port()
    log = tmp_path / "http.log"
    process = await asyncio.create_subprocess_exec(
        sys.executable, DEMO, str(log), str(port), stdout=DEVNULL, stderr=DEVNULL
    )
    config = MCPServerConfig(
        "web", url=f"http://127.0.0.1:{port}/mcp", headers={"X-Api-Key": "k-42"}
    )
    mcp = MCPManager([config], timeout=5, retry_seconds=0.3)
    try:
        mcp.start()
        await until(lambda: mcp.states()["web"] == "up", seconds=60)
        shout = next(t for t in mcp.tools() if t.name == "web__shout")
        assert await shout.run({"text": "with a key"}) == "WITH A KEY!"
        assert "x-api-key k-42" in log.read_text()
        # The SDK's client, with its recommended timeouts (a long read for streams)...
        client = made[-1]
        assert client.timeout.read == 300 and client.headers["x-api-key"] == "k-42"
        assert not client.is_closed
    finally:
        await mcp.aclose()
        process.kill()
        await process.wait()
    # ... closed with the connection: none is left open behind a reconnect or a stop.
    assert made and all(c.is_closed for c in made)


async def test_a_server_that_dies_idle_is_noticed_by_the_ping(
    manager: tuple[MCPManager, Path],
) -> None:
    mcp, log = manager
    os.kill(server_pids(log)[-1], signal.SIGKILL)
    # Nobody calls it: the periodic ping finds it down, then it is restarted.
    await until(lambda: len(server_pids(log)) > 1 and mcp.states()["demo"] == "up")
