"""Group history on MongoDB (``group_history``): one document per message, its ``_id``
"<chat>:<message>" so a replay or an edit replaces it. A TTL index on ``expires_at``
(expireAfterSeconds 0: each document carries its own end) drops old messages; reads
filter by time too, for servers whose TTL monitor is slow or absent. The size bound per
chat is kept after each write: everything older than the chat's ``keep``-th newest
message is deleted."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from app.storage.group_history import GroupMessage

Raw = dict[str, Any]

COLLECTION = "group_history"


def _message(raw: Raw) -> GroupMessage:
    return GroupMessage.model_validate({k: v for k, v in raw.items() if k != "_id"})


class MongoGroupHistoryRepository:
    def __init__(self, database: AsyncDatabase[Raw]) -> None:
        self._col: AsyncCollection[Raw] = database[COLLECTION]

    async def ensure_indexes(self) -> None:
        await self._col.create_indexes(
            [
                IndexModel(
                    [("chat_id", ASCENDING), ("message_id", DESCENDING)], name="chat_newest"
                ),
                IndexModel(
                    [("chat_id", ASCENDING), ("thread_id", ASCENDING), ("message_id", DESCENDING)],
                    name="topic_newest",
                ),
                IndexModel([("expires_at", ASCENDING)], name="expiry", expireAfterSeconds=0),
            ]
        )

    async def add(self, messages: Sequence[GroupMessage], *, keep: int) -> None:
        if not messages:
            return
        # One round trip for the batch; unordered: one message failing stops no other.
        await self._col.bulk_write(
            [
                ReplaceOne({"_id": f"{m.chat_id}:{m.message_id}"}, m.model_dump(), upsert=True)
                for m in messages
            ],
            ordered=False,
        )
        for chat_id in {m.chat_id for m in messages}:
            await self._trim(chat_id, keep)

    async def _trim(self, chat_id: int, keep: int) -> None:
        cursor = (
            self._col.find({"chat_id": chat_id}, projection={"message_id": 1})
            .sort("message_id", DESCENDING)
            .skip(keep)
            .limit(1)
        )
        oldest_kept_out = [raw async for raw in cursor]
        if oldest_kept_out:
            edge = oldest_kept_out[0]["message_id"]
            await self._col.delete_many({"chat_id": chat_id, "message_id": {"$lte": edge}})

    async def recent(
        self, chat_id: int, *, thread_id: int | None, now: datetime, limit: int
    ) -> list[GroupMessage]:
        if limit <= 0:
            return []
        query: Raw = {"chat_id": chat_id, "expires_at": {"$gt": now}}
        if thread_id is not None:
            query["thread_id"] = thread_id
        cursor = self._col.find(query).sort("message_id", DESCENDING).limit(limit)
        newest = [_message(raw) async for raw in cursor]
        return newest[::-1]
