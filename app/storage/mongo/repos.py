"""Users and conversations on MongoDB (access requests: ``requests``).

Every state change is one atomic single-document operation (or guarded by a partial
unique index), so concurrent handlers and several bot instances can't race each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from app.storage.base import (
    DEFAULT_MAX_TURNS,
    Conversation,
    Turn,
    UserPrefs,
    UserRecord,
    utc_ms,
)
from app.storage.models import after_last_prompt
from app.storage.mongo.documents import ConversationDoc, UserDoc

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


def _conversation(raw: Raw) -> Conversation:
    data = {k: v for k, v in raw.items() if k != "_id"}
    return Conversation(id=str(raw["_id"]), **data)


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


class MongoConversationRepository:
    def __init__(self, max_turns: int = DEFAULT_MAX_TURNS) -> None:
        self._col: AsyncCollection[Raw] = ConversationDoc.get_pymongo_collection()
        self._max_turns = max_turns

    async def _find_active(self, user_id: int, chat_id: int) -> Raw | None:
        return await self._col.find_one({"user_id": user_id, "chat_id": chat_id, "active": True})

    async def _open(self, user_id: int, chat_id: int) -> Conversation:
        now = utc_ms()
        # Validated by the document model, written through this repository's own collection
        # (Beanie binds documents to one database per process; repositories don't).
        doc = ConversationDoc(user_id=user_id, chat_id=chat_id, created_at=now, updated_at=now)
        raw = doc.model_dump(exclude={"id", "revision_id"})
        try:
            result = await self._col.insert_one(raw)
        except DuplicateKeyError:
            # Another handler opened one concurrently; the unique index keeps it single.
            found = await self._find_active(user_id, chat_id)
            if found is None:
                raise
            return _conversation(found)
        return Conversation(
            id=str(result.inserted_id),
            user_id=user_id,
            chat_id=chat_id,
            created_at=now,
            updated_at=now,
        )

    async def active(self, user_id: int, chat_id: int) -> Conversation:
        raw = await self._find_active(user_id, chat_id)
        return _conversation(raw) if raw else await self._open(user_id, chat_id)

    async def get(self, conversation_id: str) -> Conversation | None:
        oid = to_oid(conversation_id)
        raw = await self._col.find_one({"_id": oid}) if oid else None
        return _conversation(raw) if raw else None

    async def append(self, conversation_id: str, turns: Sequence[Turn]) -> None:
        oid = to_oid(conversation_id)
        if oid is None or not turns:
            return
        docs = [t.model_dump() | {"created_at": utc_ms(t.created_at)} for t in turns]
        # $slice keeps only the newest max_turns in the same atomic update.
        await self._col.update_one(
            {"_id": oid},
            {
                "$push": {"turns": {"$each": docs, "$slice": -self._max_turns}},
                "$set": {"updated_at": utc_ms()},
            },
        )

    async def _change_last_answer(
        self, conversation_id: str, change: Callable[[list[Turn]], list[Turn]]
    ) -> bool:
        """Compare-and-set on the turns: read them, write the changed ones back only if the
        conversation still ends with that very turn (a concurrent append retries)."""
        oid = to_oid(conversation_id)
        if oid is None:
            return False
        for _ in range(5):
            raw = await self._col.find_one({"_id": oid}, {"turns": 1})
            turns = raw.get("turns") if raw else None
            if not turns:
                return False
            last = Turn.model_validate(turns[-1])
            if last.role != "assistant":
                return False
            index = len(turns) - 1
            new = change([Turn.model_validate(t) for t in turns])
            docs = [t.model_dump() | {"created_at": utc_ms(t.created_at)} for t in new]
            result = await self._col.update_one(
                {
                    "_id": oid,
                    f"turns.{index}.created_at": utc_ms(last.created_at),
                    f"turns.{index}.content": last.content,
                    f"turns.{index + 1}": {"$exists": False},
                },
                {"$set": {"turns": docs, "updated_at": utc_ms()}},
            )
            if result.matched_count:
                return True
        return False

    async def set_last_answer_messages(
        self, conversation_id: str, message_ids: Sequence[int]
    ) -> bool:
        ids = list(message_ids)
        return await self._change_last_answer(
            conversation_id,
            lambda ts: [*ts[:-1], ts[-1].model_copy(update={"message_ids": ids})],
        )

    async def replace_last_answer(self, conversation_id: str, turns: Sequence[Turn]) -> bool:
        new = list(turns)
        return await self._change_last_answer(
            conversation_id, lambda ts: [*ts[: after_last_prompt(ts)], *new]
        )

    async def extend_last_answer(
        self, conversation_id: str, text: str, message_ids: Sequence[int] = ()
    ) -> bool:
        return await self._change_last_answer(
            conversation_id,
            lambda ts: [
                *ts[:-1],
                ts[-1].model_copy(
                    update={
                        "content": ts[-1].content + text,
                        "message_ids": [*ts[-1].message_ids, *message_ids],
                    }
                ),
            ],
        )

    async def start_new(self, user_id: int, chat_id: int) -> Conversation:
        await self._col.update_many(
            {"user_id": user_id, "chat_id": chat_id, "active": True},
            {"$set": {"active": False, "updated_at": utc_ms()}},
        )
        return await self._open(user_id, chat_id)
