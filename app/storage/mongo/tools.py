"""Tool counters and tool switches on MongoDB: one document per (day, tool) updated with
``$inc``, one settings document for the friends' tools, one per chat switched off."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from app.storage.models import StatsWindow
from app.storage.rollups import day_range
from app.storage.tools import ToolUsage, day_of, ranked

Raw = dict[str, Any]

CALLS_COLLECTION = "tool_calls"
SETTINGS_COLLECTION = "tool_settings"
FRIENDS_KEY = "friend_tools"


class MongoToolRepository:
    def __init__(self, database: AsyncDatabase[Raw]) -> None:
        self._calls: AsyncCollection[Raw] = database[CALLS_COLLECTION]
        self._settings: AsyncCollection[Raw] = database[SETTINGS_COLLECTION]

    async def record_call(self, tool: str, ok: bool, at: datetime | None = None) -> None:
        day = day_of(at).isoformat()
        await self._calls.update_one(
            {"_id": f"{day}|{tool}"},
            {
                "$inc": {"calls": 1, "errors": 0 if ok else 1},
                "$setOnInsert": {"day": day, "tool": tool},
            },
            upsert=True,
        )

    async def per_tool(self, window: StatsWindow | None = None) -> list[ToolUsage]:
        first, last = day_range(window)
        days: Raw = {}
        if first is not None:
            days["$gte"] = first.isoformat()
        if last is not None:
            days["$lt"] = last.isoformat()
        rows: dict[str, ToolUsage] = {}
        async for raw in self._calls.find({"day": days} if days else {}):
            row = rows.setdefault(raw["tool"], ToolUsage(tool=raw["tool"]))
            row.calls += int(raw.get("calls", 0))
            row.errors += int(raw.get("errors", 0))
        return ranked(rows)

    async def friend_tools(self) -> list[str] | None:
        raw = await self._settings.find_one({"_id": FRIENDS_KEY})
        return None if raw is None else [str(n) for n in raw.get("names", [])]

    async def set_friend_tools(self, names: Sequence[str]) -> None:
        await self._settings.update_one(
            {"_id": FRIENDS_KEY}, {"$set": {"names": sorted(set(names))}}, upsert=True
        )

    async def tools_off(self, user_id: int, chat_id: int) -> bool:
        return await self._settings.find_one({"_id": f"off:{user_id}:{chat_id}"}) is not None

    async def set_tools_off(self, user_id: int, chat_id: int, off: bool) -> None:
        key = f"off:{user_id}:{chat_id}"
        if off:
            await self._settings.update_one(
                {"_id": key}, {"$set": {"user_id": user_id, "chat_id": chat_id}}, upsert=True
            )
        else:
            await self._settings.delete_one({"_id": key})
