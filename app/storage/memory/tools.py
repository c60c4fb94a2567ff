"""Tool counters and tool switches kept in dicts (the in-memory twin of mongo/tools.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from app.storage.models import StatsWindow
from app.storage.tools import ToolUsage, day_of, in_window, ranked


class MemoryToolRepository:
    def __init__(self) -> None:
        self._calls: dict[tuple[date, str], list[int]] = {}
        self._friends: list[str] | None = None
        self._off: set[tuple[int, int]] = set()

    async def record_call(self, tool: str, ok: bool, at: datetime | None = None) -> None:
        counts = self._calls.setdefault((day_of(at), tool), [0, 0])
        counts[0] += 1
        counts[1] += 0 if ok else 1

    async def per_tool(self, window: StatsWindow | None = None) -> list[ToolUsage]:
        rows: dict[str, ToolUsage] = {}
        for (day, tool), (calls, errors) in self._calls.items():
            if in_window(day, window):
                row = rows.setdefault(tool, ToolUsage(tool=tool))
                row.calls += calls
                row.errors += errors
        return ranked(rows)

    async def friend_tools(self) -> list[str] | None:
        return None if self._friends is None else list(self._friends)

    async def set_friend_tools(self, names: Sequence[str]) -> None:
        self._friends = sorted(set(names))

    async def tools_off(self, user_id: int, chat_id: int) -> bool:
        return (user_id, chat_id) in self._off

    async def set_tools_off(self, user_id: int, chat_id: int, off: bool) -> None:
        if off:
            self._off.add((user_id, chat_id))
        else:
            self._off.discard((user_id, chat_id))
