"""Access requests on MongoDB: one pending request per user (a partial unique index), and
every transition one conditional single-document update, so two admins or two bot
instances can't race each other."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.storage.base import AccessRequest, RequestStatus, utc_ms
from app.storage.mongo.documents import AccessRequestDoc
from app.storage.mongo.repos import to_oid

Raw = dict[str, Any]

_MODEL_FIELDS = frozenset(AccessRequest.model_fields) - {"id"}


def _request(raw: Raw) -> AccessRequest:
    data = {k: v for k, v in raw.items() if k in _MODEL_FIELDS}
    return AccessRequest(id=str(raw["_id"]), **data)


class MongoAccessRequestRepository:
    def __init__(self) -> None:
        self._col: AsyncCollection[Raw] = AccessRequestDoc.get_pymongo_collection()

    async def open_or_get_pending(
        self, user_id: int, username: str | None, full_name: str | None
    ) -> tuple[AccessRequest, bool]:
        query = {"user_id": user_id, "status": "pending"}
        for _ in range(3):
            try:
                result = await self._col.update_one(
                    query,
                    {
                        "$setOnInsert": {
                            "username": username,
                            "full_name": full_name,
                            "created_at": utc_ms(),
                            "decided_by": None,
                            "decided_at": None,
                            "cards": [],
                        }
                    },
                    upsert=True,
                )
            except DuplicateKeyError:
                continue  # a concurrent press inserted it first: read that one
            raw = await self._col.find_one(query)
            if raw is not None:
                return _request(raw), result.upserted_id is not None
        raise RuntimeError(f"could not open an access request for user {user_id}")

    async def last_request_for(self, user_id: int) -> AccessRequest | None:
        cursor = (
            self._col.find({"user_id": user_id})
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .limit(1)
        )
        async for raw in cursor:
            return _request(raw)
        return None

    async def get(self, request_id: str) -> AccessRequest | None:
        oid = to_oid(request_id)
        raw = await self._col.find_one({"_id": oid}) if oid else None
        return _request(raw) if raw else None

    async def decide(
        self, request_id: str, status: RequestStatus, admin_id: int
    ) -> AccessRequest | None:
        oid = to_oid(request_id)
        if oid is None or status == "pending":
            return None
        allowed_from = ["pending", "approved"] if status == "revoked" else ["pending"]
        raw = await self._col.find_one_and_update(
            {"_id": oid, "status": {"$in": allowed_from}},
            {"$set": {"status": status, "decided_by": admin_id, "decided_at": utc_ms()}},
            return_document=ReturnDocument.AFTER,
        )
        return _request(raw) if raw else None

    async def add_card(self, request_id: str, chat_id: int, message_id: int) -> None:
        oid = to_oid(request_id)
        if oid is not None:
            await self._col.update_one(
                {"_id": oid}, {"$push": {"cards": {"chat_id": chat_id, "message_id": message_id}}}
            )

    async def list_pending(self) -> list[AccessRequest]:
        cursor = self._col.find({"status": "pending"}).sort(
            [("created_at", ASCENDING), ("_id", ASCENDING)]
        )
        return [_request(raw) async for raw in cursor]

    async def count_pending(self) -> int:
        return await self._col.count_documents({"status": "pending"})

    async def claim_delivery(self, request_id: str, stale_after: timedelta) -> bool:
        request_oid = to_oid(request_id)
        if request_oid is None:
            return False
        now = utc_ms()
        # One conditional update: only one caller, on any instance, can match and set it.
        result = await self._col.update_one(
            {
                "_id": request_oid,
                "status": "pending",
                "cards": {"$size": 0},
                "$or": [
                    {"delivery_claimed_at": None},  # also matches a missing field
                    {"delivery_claimed_at": {"$lte": now - stale_after}},
                ],
            },
            {"$set": {"delivery_claimed_at": now}},
        )
        return result.modified_count == 1

    async def release_delivery(self, request_id: str) -> None:
        request_oid = to_oid(request_id)
        if request_oid is None:
            return
        await self._col.update_one(
            {"_id": request_oid, "cards": {"$size": 0}}, {"$set": {"delivery_claimed_at": None}}
        )
