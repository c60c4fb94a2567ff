"""ToolService: which tools a caller gets in a chat, and the switches behind that.

The one authority on tool access: admins get every tool that is up; friends get the tools
an admin allowed in /tools (until then, TOOLS_FRIENDS); nobody gets tools in a chat where
they switched them off. Built-in tools come from the settings, MCP tools from the servers
that are up right now (a server that goes down takes its tools with it)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from app.storage import Storage, StorageUnavailable
from llmdoor import Caller, MCPManager, Role, Tool, ToolSettings, builtin_tools, load_servers_file

log = logging.getLogger(__name__)

ALL = "*"
#: Seconds a read switch is trusted: every message asks, and a change made on another
#: instance shows within this time (this instance's own changes show at once).
CACHE_SECONDS = 5.0
MAX_CACHED_CHATS = 10_000


@dataclass(frozen=True)
class ToolChoice:
    """A tool as /tools lists it: may friends use it?"""

    name: str
    description: str
    friends: bool
    mcp: bool


class ToolService:
    def __init__(
        self,
        settings: ToolSettings,
        storage: Storage,
        *,
        mcp: MCPManager | None = None,
        extra: Sequence[Tool] = (),
    ) -> None:
        self.settings = settings
        self._storage = storage
        self._builtin = [*builtin_tools(settings), *extra]
        if mcp is None and settings.mcp_servers_file:
            mcp = MCPManager(
                load_servers_file(settings.mcp_servers_file),
                timeout=settings.mcp_timeout,
                retry_seconds=settings.mcp_retry_seconds,
                max_result_chars=settings.mcp_max_result_chars,
            )
        self.mcp = mcp
        self._started = False
        self._clock = time.monotonic
        self._friends: tuple[float, frozenset[str]] | None = None
        self._off: dict[tuple[int, int], tuple[float, bool]] = {}

    async def start(self, wait: float = 0.0) -> None:
        """Connect the MCP servers in the background; ``wait``: seconds to give them."""
        if self.mcp is None or self._started:
            return
        self._started = True
        self.mcp.start()
        if wait > 0:
            await self.mcp.wait_ready(wait)

    async def aclose(self) -> None:
        if self.mcp is not None and self._started:
            self._started = False
            await self.mcp.aclose()

    def available(self) -> list[Tool]:
        """Every tool that could be offered right now."""
        return [*self._builtin, *(self.mcp.tools() if self.mcp is not None else [])]

    async def friend_names(self) -> frozenset[str]:
        now = self._clock()
        if self._friends is not None and now - self._friends[0] < CACHE_SECONDS:
            return self._friends[1]
        try:
            chosen = await self._storage.tools.friend_tools()
        except StorageUnavailable:
            # The database is down: the setting still says something sane.
            return self.settings.friend_tools
        names = frozenset(chosen) if chosen is not None else self.settings.friend_tools
        self._friends = (now, names)
        return names

    async def may_friends_use(self, name: str) -> bool:
        names = await self.friend_names()
        return ALL in names or name in names

    async def tools_for(self, caller: Caller, chat_id: int) -> list[Tool]:
        if caller.role is Role.STRANGER or caller.user_id is None:
            return []
        tools = self.available()
        if not tools or await self.is_off(caller.user_id, chat_id):
            return []
        if caller.is_admin:
            return tools
        names = await self.friend_names()
        return tools if ALL in names else [t for t in tools if t.name in names]

    async def is_off(self, user_id: int, chat_id: int) -> bool:
        now = self._clock()
        cached = self._off.get((user_id, chat_id))
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            off = await self._storage.tools.tools_off(user_id, chat_id)
        except StorageUnavailable:
            return False
        if len(self._off) > MAX_CACHED_CHATS:
            self._off.clear()
        self._off[(user_id, chat_id)] = (now, off)
        return off

    async def set_off(self, user_id: int, chat_id: int, off: bool) -> None:
        """Raises StorageUnavailable: the caller says the switch did not stick."""
        await self._storage.tools.set_tools_off(user_id, chat_id, off)
        self._off[(user_id, chat_id)] = (self._clock(), off)

    async def choices(self) -> list[ToolChoice]:
        names = await self.friend_names()
        return [
            ToolChoice(t.name, t.description, ALL in names or t.name in names, "mcp" in t.tags)
            for t in self.available()
        ]

    async def toggle_friend_tool(self, name: str) -> bool:
        """Flip whether friends may use ``name``; returns the new value. Raises
        StorageUnavailable."""
        names = set(await self.friend_names())
        if ALL in names:
            names = {t.name for t in self.available()}
        allowed = name not in names
        if allowed:
            names.add(name)
        else:
            names.discard(name)
        await self._storage.tools.set_friend_tools(sorted(names))
        self._friends = (self._clock(), frozenset(names))
        return allowed

    async def record(self, name: str, ok: bool) -> None:
        try:
            await self._storage.tools.record_call(name, ok)
        except StorageUnavailable:
            log.warning("tools: could not count a call of %s (database unavailable)", name)
