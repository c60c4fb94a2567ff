"""MCP servers as tools, with the official ``mcp`` SDK: stdio commands and streamable HTTP
URLs from a settings file, each server's tools offered as ``<server>__<tool>``.

Every server lives in a task of its own (the SDK's transports must be entered and left in
one task) that connects, lists the tools and then waits. A server that cannot be reached,
answers too slowly, or dies is marked down: its tools disappear, a warning is logged, and
the task tries again after ``retry_seconds``. Chatting never waits for a server.

The file (JSON, or YAML when PyYAML is installed), in the shape other MCP clients use::

    {"mcpServers": {
        "files": {"command": "uvx", "args": ["mcp-server-fetch"]},
        "wiki": {"url": "http://127.0.0.1:9000/mcp", "headers": {"Authorization": "Bearer …"}}
    }}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from llmdoor.tools import mcp_cap
from llmdoor.tools.base import Tool, ToolArgumentsError, safe_name

log = logging.getLogger("llmdoor.tools.mcp")

State = Literal["connecting", "up", "down"]


class MCPConfigError(ValueError):
    """The MCP servers file is unreadable or malformed (the message says where)."""


class MCPToolError(RuntimeError):
    """The server ran the tool and reported an error, or the server is not reachable."""


@dataclass(frozen=True)
class MCPServerConfig:
    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] | None = None


def parse_servers(data: Any, origin: str = "MCP servers") -> list[MCPServerConfig]:
    if not isinstance(data, Mapping):
        raise MCPConfigError(f"{origin}: expected an object with 'mcpServers'")
    servers = data.get("mcpServers", data.get("servers", {}))
    if not isinstance(servers, Mapping):
        raise MCPConfigError(f"{origin}: 'mcpServers' must be an object of servers")
    out: list[MCPServerConfig] = []
    for name, spec in servers.items():
        if not isinstance(spec, Mapping) or spec.get("disabled"):
            continue
        clean = safe_name(str(name))
        if spec.get("url"):
            out.append(MCPServerConfig(clean, url=str(spec["url"]), headers=spec.get("headers")))
        elif spec.get("command"):
            out.append(
                MCPServerConfig(
                    clean,
                    command=str(spec["command"]),
                    args=tuple(str(a) for a in spec.get("args", ())),
                    env={str(k): str(v) for k, v in (spec.get("env") or {}).items()} or None,
                    cwd=spec.get("cwd"),
                )
            )
        else:
            raise MCPConfigError(f"{origin}: server {name!r} needs a 'command' or a 'url'")
    return out


def load_servers_file(path: str | Path) -> list[MCPServerConfig]:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise MCPConfigError(f"MCP_SERVERS_FILE {file}: cannot read it ({exc.strerror})") from None
    # What json raises for malformed text (JSONDecodeError is a ValueError; RecursionError
    # for deep nesting), and ImportError: a YAML file without PyYAML.
    malformed: tuple[type[Exception], ...] = (ImportError, ValueError, RecursionError)
    try:
        if file.suffix.lower() in (".yaml", ".yml"):
            import yaml

            # PyYAML's own errors, and plain ones from its constructors for some explicitly
            # tagged scalars ("!!int ''": IndexError, "!!bool x": KeyError, "!!timestamp x":
            # AttributeError).
            malformed += (yaml.YAMLError, LookupError, AttributeError, TypeError)
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except malformed as exc:  # json and yaml raise different errors; all mean malformed
        raise MCPConfigError(f"MCP_SERVERS_FILE {file}: not valid ({type(exc).__name__})") from None
    return parse_servers(data, f"MCP_SERVERS_FILE {file}")


ArgumentCheck = Callable[[dict[str, Any]], None]


def argument_check(schema: Mapping[str, Any], tool: str) -> ArgumentCheck:
    """A check of a call's arguments against a tool's ``inputSchema`` (JSON Schema) that
    raises ToolArgumentsError, so the model is told and the server is not called. A schema
    that is itself broken, or refers to documents we do not have, checks nothing (the
    server still judges)."""
    import jsonschema
    from jsonschema.validators import validator_for
    from referencing.exceptions import Unresolvable

    cls = validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError:
        log.warning("mcp: tool %s has an invalid input schema; its arguments go unchecked", tool)
        return lambda arguments: None
    validator = cls(schema)

    def check(arguments: dict[str, Any]) -> None:
        try:
            errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.path))
        except Unresolvable:
            return
        if errors:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e.absolute_path) or 'arguments'}: {e.message[:200]}"
                for e in errors[:5]
            )
            raise ToolArgumentsError(problems)

    return check


# Characters of one MCP result kept (TOOLS_MCP_MAX_RESULT_CHARS); the loop then cuts it to
# the model's token budget, but 40 MB must not get that far.
MAX_RESULT_CHARS = 1_000_000


def line_cap_bytes(max_chars: int) -> int:
    """The longest message a server may send: the result's characters escaped in JSON (at
    most 6 bytes each, ``\\uXXXX``) and room for the envelope."""
    return max_chars * 6 + 65_536


def _text_of(result: Any, max_chars: int = MAX_RESULT_CHARS) -> str:
    """The result's text parts joined, at most ``max_chars`` of them (with a note when
    cut). Run off the event loop: a server may answer with tens of megabytes."""
    parts: list[str] = []
    size = 0
    cut = False
    for item in getattr(result, "content", None) or []:
        text = getattr(item, "text", None)
        part = text if isinstance(text, str) else f"[{getattr(item, 'type', 'content')}]"
        if size + len(part) > max_chars:
            parts.append(part[: max(0, max_chars - size)])
            cut = True
            break
        parts.append(part)
        size += len(part) + 1
    if not parts and getattr(result, "structured_content", None) is not None:
        whole = json.dumps(result.structured_content, ensure_ascii=False, default=str)
        cut = len(whole) > max_chars
        parts.append(whole[:max_chars])
    joined = "\n".join(parts)
    if cut:
        joined += f"\n[…the server's result was cut at {max_chars} characters]"
    return joined


@dataclass
class MCPServerLink:
    """One server: its supervising task, its state and its tools while it is up."""

    config: MCPServerConfig
    timeout: float
    retry_seconds: float
    max_result_chars: int = MAX_RESULT_CHARS
    state: State = "connecting"
    tools: list[Tool] = field(default_factory=list)
    _client: Any = None
    _broken: asyncio.Event = field(default_factory=asyncio.Event)
    _tried: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.config.name

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._supervise(), name=f"mcp:{self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_tried(self) -> None:
        """Until the first connection attempt has ended, either way."""
        await self._tried.wait()

    async def _server(self, stack: contextlib.AsyncExitStack) -> Any:
        """What ``mcp.Client`` connects to. Over HTTP the client is the SDK's own (its
        recommended timeouts), closed by ``stack`` with the connection, with the size cap:
        on each SSE event (the SDK's own limit) and on a JSON answer's body as it is read."""
        cap = line_cap_bytes(self.max_result_chars)
        if self.config.url:
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            headers = {str(k): str(v) for k, v in (self.config.headers or {}).items()}
            http = await stack.enter_async_context(create_mcp_http_client(headers=headers or None))
            http.event_hooks = {"response": [mcp_cap.body_cap(cap)]}
            return streamable_http_client(self.config.url, http_client=http, max_sse_event_size=cap)
        from mcp.client.stdio import StdioServerParameters

        # The server's output goes through the cap as it streams (mcp_cap.py): the SDK
        # would read a line of any length whole and parse it on the event loop.
        return StdioServerParameters(
            command=sys.executable,
            args=[
                str(Path(mcp_cap.__file__)),
                str(cap),
                "--",
                self.config.command or "",
                *self.config.args,
            ],
            env=dict(self.config.env) if self.config.env else None,
            cwd=self.config.cwd,
        )

    async def _supervise(self) -> None:
        from mcp import Client

        while True:
            self._broken.clear()
            try:
                async with contextlib.AsyncExitStack() as stack:
                    # Connecting (a process start, a handshake) and listing share one
                    # deadline: a server that hangs there counts as down.
                    async with asyncio.timeout(self.timeout):
                        server = await self._server(stack)
                        client = await stack.enter_async_context(
                            Client(server, read_timeout_seconds=self.timeout)
                        )
                        listing = await client.list_tools()
                    self._client = client
                    self.tools = [self._tool(t) for t in listing.tools]
                    self.state = "up"
                    self._tried.set()
                    log.info("mcp: %s is up with %d tools", self.name, len(self.tools))
                    await self._watch(client)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # the outermost loop of the server's task
                # It survives anything the SDK and the server throw (the SDK's task groups
                # raise BaseExceptionGroups), short of an exit, and says the server is down.
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
                log.warning("mcp: server %s is down (%s)", self.name, type(exc).__name__)
            finally:
                self._client = None
                self.tools = []
                if self.state == "up":
                    log.warning("mcp: server %s went down; its tools are withdrawn", self.name)
                self.state = "down"
                self._tried.set()
            await asyncio.sleep(self.retry_seconds)

    async def _watch(self, client: Any) -> None:
        """Until a call finds the server broken, or a listing every ``retry_seconds`` does
        (a server that died while nobody called it); the listing also picks up tools the
        server added or dropped."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.retry_seconds):
                    await self._broken.wait()
                    return
            async with asyncio.timeout(self.timeout):
                listing = await client.list_tools(cache_mode="bypass")
            self.tools = [self._tool(t) for t in listing.tools]

    def _tool(self, listed: Any) -> Tool:
        remote = str(listed.name)
        schema = dict(getattr(listed, "input_schema", None) or {"type": "object"})
        schema.pop("title", None)
        schema.setdefault("properties", {})
        check = argument_check(schema, f"{self.name}__{remote}")

        async def run(arguments: dict[str, Any]) -> str:
            check(arguments)  # ToolArgumentsError: the model is told, the server not asked
            return await self.call(remote, arguments)

        return Tool(
            name=safe_name(f"{self.name}__{remote}"),
            description=str(listed.description or remote),
            parameters=schema,
            run=run,
            timeout=self.timeout,
            tags=frozenset({"mcp", f"mcp:{self.name}"}),
        )

    def _withdraw(self, name: str, exc: BaseException) -> None:
        log.warning(
            "mcp: call %s on %s failed (%s); withdrawing its tools",
            name,
            self.name,
            type(exc).__name__,
        )
        self.tools = []
        self.state = "down"
        self._broken.set()

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        client = self._client
        if client is None or self.state != "up":
            raise MCPToolError(f"the MCP server {self.name} is not available")
        from mcp.shared.exceptions import MCPError
        from mcp.types import CONNECTION_CLOSED

        try:
            result = await asyncio.wait_for(client.call_tool(name, arguments), self.timeout)
        except asyncio.CancelledError:
            raise
        except MCPError as exc:
            if exc.code != CONNECTION_CLOSED:
                # The server answered, with an error (or the cap answered for it): it is up.
                raise MCPToolError(exc.message or "the tool failed") from None
            self._withdraw(name, exc)
            raise MCPToolError(f"the MCP server {self.name} did not answer") from None
        except Exception as exc:  # the MCP SDK and the server behind it raise anything
            self._withdraw(name, exc)
            raise MCPToolError(f"the MCP server {self.name} did not answer") from None
        text = await asyncio.to_thread(_text_of, result, self.max_result_chars)
        if getattr(result, "is_error", False):
            raise MCPToolError(text or "the tool failed")
        return text


class MCPManager:
    """The configured servers: start them, list the tools of those that are up, stop."""

    def __init__(
        self,
        servers: list[MCPServerConfig],
        *,
        timeout: float = 20.0,
        retry_seconds: float = 30.0,
        max_result_chars: int = MAX_RESULT_CHARS,
    ) -> None:
        self.links = [MCPServerLink(s, timeout, retry_seconds, max_result_chars) for s in servers]

    def start(self) -> None:
        for link in self.links:
            link.start()

    async def wait_ready(self, timeout: float) -> None:  # noqa: ASYNC109 - a start-up bound
        """Wait (at most ``timeout``) until every server was tried once."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await asyncio.gather(*(link.wait_tried() for link in self.links))

    def tools(self) -> list[Tool]:
        return [tool for link in self.links if link.state == "up" for tool in link.tools]

    def states(self) -> dict[str, State]:
        return {link.name: link.state for link in self.links}

    async def aclose(self) -> None:
        await asyncio.gather(*(link.stop() for link in self.links))
