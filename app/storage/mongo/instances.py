"""The live bot instances, for the shared Telegram send budget (app.bot.delivery.send_budget)."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from typing import Any


class MongoInstanceRegistry:
    """``bot_instances``: one document per running instance, {_id, host, pid, seen}."""

    COLLECTION = "bot_instances"

    def __init__(self, database: Any) -> None:
        self._col = database[self.COLLECTION]

    async def beat(self, instance_id: str, now: datetime, stale_after: float) -> int:
        await self._col.update_one(
            {"_id": instance_id},
            {"$set": {"seen": now, "host": socket.gethostname(), "pid": os.getpid()}},
            upsert=True,
        )
        cutoff = now - timedelta(seconds=stale_after)
        # Dead instances' documents are removed by whoever sees them first.
        await self._col.delete_many({"seen": {"$lt": cutoff - timedelta(seconds=stale_after)}})
        return max(1, await self._col.count_documents({"seen": {"$gte": cutoff}}))

    async def leave(self, instance_id: str) -> None:
        await self._col.delete_one({"_id": instance_id})
