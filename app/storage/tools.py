"""The storage contract for tools: calls per tool and day (for /stats), which tools
friends may use (set by admins in /tools), and the chats where a user switched tools off.

Calls are counted per (UTC day, tool) with one atomic increment each, so /stats reads a
handful of small documents whatever the number of calls."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Protocol, runtime_checkable

from pydantic import BaseModel

from app.storage.models import StatsWindow
from app.storage.rollups import day_range


class ToolUsage(BaseModel):
    tool: str
    calls: int = 0
    errors: int = 0


@runtime_checkable
class ToolRepository(Protocol):
    async def record_call(self, tool: str, ok: bool, at: datetime | None = None) -> None: ...

    async def per_tool(self, window: StatsWindow | None = None) -> list[ToolUsage]:
        """Calls per tool in the window's days, most used first."""
        ...

    async def friend_tools(self) -> list[str] | None:
        """What an admin chose for friends; None: never chosen (the setting applies)."""
        ...

    async def set_friend_tools(self, names: Sequence[str]) -> None: ...

    async def tools_off(self, user_id: int, chat_id: int) -> bool: ...

    async def set_tools_off(self, user_id: int, chat_id: int, off: bool) -> None: ...


def day_of(at: datetime | None) -> date:
    at = at or datetime.now(UTC)
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).date()


def in_window(day: date, window: StatsWindow | None) -> bool:
    first, last = day_range(window)
    return (first is None or day >= first) and (last is None or day < last)


def ranked(rows: dict[str, ToolUsage]) -> list[ToolUsage]:
    return sorted(rows.values(), key=lambda r: (-r.calls, r.tool))
