"""Users on MongoDB (conversations: ``conversations``; access requests: ``requests``).

Every state change is one atomic single-document operation (or guarded by a partial
unique index), so concurrent handlers and several bot instances can't race each other.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from app.storage.base import UserPrefs, UserRecord, utc_ms
from app.storage.mongo.documents import UserDoc

Raw = dict[str, Any]


def to_oid(value: str) -> ObjectId | None:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


def _upserted(raw: Raw | None) -> Raw:
    # find_one_and_update(upsert=True, AFTER) always returns the document.
    if raw is None:
        raise RuntimeError("upsert returned no document")
    return raw


def _user(raw: Raw) -> UserRecord:
    data = {k: v for k, v in raw.items() if k not in ("_id", "username_lower")}
    return UserRecord(user_id=raw["_id"], **data)


class MongoUserRepository:
    def __init__(self) -> None:
        self._col: AsyncCollection[Raw] = UserDoc.get_pymongo_collection()

    async def get(self, user_id: int) -> UserRecord | None:
        raw = await self._col.find_one({"_id": user_id})
        return _user(raw) if raw else None

    async def _set(self, user_id: int, fields: Raw) -> UserRecord:
        now = utc_ms()
        raw = await self._col.find_one_and_update(
            {"_id": user_id},
            {
                "$set": fields,
                "$setOnInsert": {
                    "first_seen": now,
                    "last_seen": now,
                    "approved": False,
                    **{k: None for k in _NULLABLE if k not in fields},
                },
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return _user(_upserted(raw))

    async def upsert_seen(
        self,
        user_id: int,
        username: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> UserRecord:
        now = utc_ms()
        raw = await self._col.find_one_and_update(
            {"_id": user_id},
            {
                "$set": {
                    "username": username,
                    "username_lower": username.lower() if username else None,
                    "first_name": first_name,
                    "last_name": last_name,
                    "language_code": language_code,
                    "last_seen": now,
                },
                "$setOnInsert": {
                    "first_seen": now,
                    "approved": False,
                    "language": None,
                    "model": None,
                    "daily_budget_usd": None,
                },
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return _user(_upserted(raw))

    async def set_model(self, user_id: int, model: str | None) -> UserRecord:
        return await self._set(user_id, {"model": model})

    async def set_language(self, user_id: int, language: str | None) -> UserRecord:
        return await self._set(user_id, {"language": language})

    async def set_budget(self, user_id: int, usd: float | None) -> UserRecord:
        return await self._set(user_id, {"daily_budget_usd": usd})

    async def set_prefs(self, user_id: int, **changes: object) -> UserRecord:
        # Validated through the model first; then only the named fields are $set, so two
        # switches flipped at once by two instances don't undo each other.
        current = await self.get(user_id)
        prefs = UserPrefs.model_validate(
            (current.prefs if current else UserPrefs()).model_dump() | changes
        )
        dumped = prefs.model_dump()
        return await self._set(user_id, {f"prefs.{k}": dumped[k] for k in changes})

    async def set_approved(self, user_id: int, approved: bool) -> UserRecord:
        raw = await self._col.find_one_and_update(
            {"_id": user_id},
            {
                "$set": {"approved": approved},
                "$setOnInsert": {
                    "first_seen": utc_ms(),
                    "last_seen": utc_ms(),
                    **{k: None for k in _NULLABLE},
                },
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return _user(_upserted(raw))

    async def is_approved(self, user_id: int) -> bool:
        raw = await self._col.find_one({"_id": user_id}, {"approved": 1})
        return bool(raw and raw.get("approved"))

    async def list_approved(self) -> list[UserRecord]:
        cursor = self._col.find({"approved": True}).sort("_id", ASCENDING)
        return [_user(raw) async for raw in cursor]

    async def find_by_username(self, username: str) -> UserRecord | None:
        wanted = username.lstrip("@").lower()
        if not wanted:
            return None
        # Usernames move between accounts: the one seen most recently holds it now.
        cursor = (
            self._col.find({"username_lower": wanted})
            .sort([("last_seen", DESCENDING), ("_id", ASCENDING)])
            .limit(1)
        )
        async for raw in cursor:
            return _user(raw)
        return None


_NULLABLE = (
    "username",
    "username_lower",
    "first_name",
    "last_name",
    "language_code",
    "language",
    "model",
    "daily_budget_usd",
)
