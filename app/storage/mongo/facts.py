"""Personal memory on MongoDB (``memory_facts``): one document per fact, indexed by user.
The cap is checked with a count before the insert; two facts stored at the very same
moment may pass it by one, which a cap on short texts tolerates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from app.storage.facts import Fact, FactSource
from app.storage.models import utc_ms
from app.storage.mongo.repos import to_oid

Raw = dict[str, Any]

COLLECTION = "memory_facts"


def _fact(raw: Raw) -> Fact:
    data = {k: v for k, v in raw.items() if k != "_id"}
    return Fact(id=str(raw["_id"]), **data)


class MongoFactRepository:
    def __init__(self, database: AsyncDatabase[Raw]) -> None:
        self._col: AsyncCollection[Raw] = database[COLLECTION]

    async def ensure_indexes(self) -> None:
        await self._col.create_indexes(
            [
                IndexModel([("user_id", ASCENDING), ("_id", DESCENDING)], name="user_newest"),
                IndexModel([("user_id", ASCENDING), ("text", ASCENDING)], name="user_text"),
            ]
        )

    async def add(
        self, user_id: int, text: str, *, source: FactSource, max_facts: int
    ) -> Fact | None:
        same = await self._col.find_one({"user_id": user_id, "text": text})
        if same is not None:
            return _fact(same)
        if await self._col.count_documents({"user_id": user_id}) >= max_facts:
            return None
        raw: Raw = {
            "_id": ObjectId(),
            "user_id": user_id,
            "text": text,
            "source": source,
            "used": 0,
            "created_at": utc_ms(),
        }
        await self._col.insert_one(raw)
        return _fact(raw)

    async def list_for(self, user_id: int, *, offset: int = 0, limit: int = 100) -> list[Fact]:
        cursor = self._col.find({"user_id": user_id}).sort("_id", DESCENDING).skip(offset)
        return [_fact(raw) async for raw in cursor.limit(limit)]

    async def count_for(self, user_id: int) -> int:
        return await self._col.count_documents({"user_id": user_id})

    async def delete(self, user_id: int, fact_id: str) -> bool:
        oid = to_oid(fact_id)
        if oid is None:
            return False
        result = await self._col.delete_one({"_id": oid, "user_id": user_id})
        return result.deleted_count == 1

    async def delete_all(self, user_id: int) -> int:
        result = await self._col.delete_many({"user_id": user_id})
        return result.deleted_count

    async def mark_used(self, user_id: int, fact_ids: Sequence[str]) -> None:
        oids = [oid for oid in (to_oid(i) for i in fact_ids) if oid is not None]
        if oids:
            await self._col.update_many(
                {"_id": {"$in": oids}, "user_id": user_id}, {"$inc": {"used": 1}}
            )
