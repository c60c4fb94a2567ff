"""Spend counters and username bindings on MongoDB.

Both live in their own collections keyed by ``_id`` (``"<user_id>:<YYYY-MM-DD>"`` and the
normalised username), so the primary key is the uniqueness guarantee and every change is one
conditional single-document update: parallel chats and several bot instances cannot
overspend or bind a name twice.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.storage.base import SPEND_EPSILON, SPEND_RECENT_OPS, normalise_username, utc_ms

Raw = dict[str, Any]

SPEND_COLLECTION = "spend"
IDENTITY_COLLECTION = "identities"


def _key(user_id: int, day: date) -> str:
    return f"{user_id}:{day.isoformat()}"


class MongoSpendRepository:
    def __init__(self, database: AsyncDatabase[Raw]) -> None:
        self._col: AsyncCollection[Raw] = database[SPEND_COLLECTION]

    async def reserve(
        self,
        user_id: int,
        day: date,
        amount_usd: float,
        limit_usd: float | None,
        op_id: str | None = None,
    ) -> bool:
        key = _key(user_id, day)
        update: Raw = {
            "$inc": {"total": amount_usd},
            "$setOnInsert": {"user_id": user_id, "day": day.isoformat()},
        }
        if op_id is not None:  # remembered, so a replay of this amount counts once
            update["$push"] = {"ops": {"$each": [op_id], "$slice": -SPEND_RECENT_OPS}}
        if limit_usd is None:
            await self._col.update_one({"_id": key}, update, upsert=True)
            return True
        if amount_usd == 0:
            room: Raw = {"$lt": limit_usd}
            fits_empty_day = limit_usd > 0
        else:
            room = {"$lte": limit_usd - amount_usd + SPEND_EPSILON}
            fits_empty_day = amount_usd <= limit_usd + SPEND_EPSILON
        if not fits_empty_day:
            return False
        try:
            # Matches an existing day with room, or inserts the day (total = amount).
            result = await self._col.update_one({"_id": key, "total": room}, update, upsert=True)
        except DuplicateKeyError:
            # The day exists without room, or a concurrent reserve has just inserted it
            # (MongoDB retries an upsert's duplicate key only for pure equality filters).
            # The day exists now: the same conditional update, without the insert.
            result = await self._col.update_one({"_id": key, "total": room}, update)
        return result.matched_count == 1 or result.upserted_id is not None

    async def adjust(
        self, user_id: int, day: date, delta_usd: float, op_id: str | None = None
    ) -> None:
        key = _key(user_id, day)
        total = {"$max": [0.0, {"$add": [{"$ifNull": ["$total", 0.0]}, delta_usd]}]}
        stage: Raw = {"total": total, "user_id": user_id, "day": day.isoformat()}
        if op_id is None:
            # An update pipeline, so the clamp at 0 is part of the same atomic update.
            await self._col.update_one({"_id": key}, [{"$set": stage}], upsert=True)
            return
        # Applied once: the filter skips a day that has seen this id, and the same update
        # remembers it (the newest SPEND_RECENT_OPS).
        ops = {"$concatArrays": [{"$ifNull": ["$ops", []]}, [op_id]]}
        stage["ops"] = {"$slice": [ops, -SPEND_RECENT_OPS]}
        once: Raw = {"_id": key, "ops": {"$ne": op_id}}
        try:
            await self._col.update_one(once, [{"$set": stage}], upsert=True)
        except DuplicateKeyError:
            # The day exists and has seen the id (the upsert found no match), or another
            # update has just inserted the day: the same update without the insert tells.
            await self._col.update_one(once, [{"$set": stage}])

    async def spent(self, user_id: int, day: date) -> float:
        raw = await self._col.find_one({"_id": _key(user_id, day)}, {"total": 1})
        return float(raw.get("total", 0.0)) if raw else 0.0


class MongoIdentityRepository:
    def __init__(self, database: AsyncDatabase[Raw]) -> None:
        self._col: AsyncCollection[Raw] = database[IDENTITY_COLLECTION]

    async def bind(self, username: str, user_id: int) -> int:
        name = normalise_username(username)
        update = {"$setOnInsert": {"user_id": user_id, "bound_at": utc_ms()}}
        try:
            raw = await self._col.find_one_and_update(
                {"_id": name}, update, upsert=True, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            raw = None  # a concurrent first binder inserted it: read the winner
        if raw is None:
            raw = await self._col.find_one({"_id": name})
        if raw is None:
            raise RuntimeError(f"binding of {name!r} vanished")
        return int(raw["user_id"])

    async def bound(self) -> dict[str, int]:
        return {str(raw["_id"]): int(raw["user_id"]) async for raw in self._col.find({})}
