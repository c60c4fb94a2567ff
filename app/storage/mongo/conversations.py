"""Conversations on MongoDB: one document per conversation with its turns embedded (capped
with ``$slice``), the word sets search matches, and the indexes ``/chats`` reads by.

State changes are single-document updates; the partial unique index keeps one active
conversation per (user, chat, thread) even when handlers or instances race."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError, OperationFailure

from app.storage.models import (
    DEFAULT_MAX_TURNS,
    Conversation,
    ConversationInfo,
    Turn,
    answer_start,
    utc_ms,
)
from app.storage.mongo.documents import ConversationDoc
from app.storage.mongo.repos import to_oid
from app.storage.words import words_of, words_of_all

Raw = dict[str, Any]

#: Left out of every read: search-only fields.
_HIDDEN = {"words": 0, "msg_words": 0, "title_words": 0}
_INFO = _HIDDEN | {"turns": 0}
_NEWEST = [("updated_at", DESCENDING), ("_id", DESCENDING)]
#: Indexes of earlier versions, keyed without the thread: dropped at start-up.
OBSOLETE_INDEXES = ("one_active_per_chat", "user_chat_active")
#: How often a last-turn update is retried when a concurrent append moved the turn.
_RETRIES = 3


def _conversation(raw: Raw) -> Conversation:
    data = {k: v for k, v in raw.items() if k not in ("_id", *_HIDDEN)}
    return Conversation(id=str(raw["_id"]), **data)


def _info(raw: Raw) -> ConversationInfo:
    data = {k: v for k, v in raw.items() if k not in ("_id", "turns", *_HIDDEN)}
    return ConversationInfo(id=str(raw["_id"]), **data)


def _words_update(words: set[str]) -> Raw:
    each = {"$each": sorted(words)}
    return {"words": each, "msg_words": each}


def _turn_doc(turn: Turn) -> Raw:
    return turn.model_dump() | {"created_at": utc_ms(turn.created_at)}


async def ensure_conversation_indexes(col: AsyncCollection[Raw]) -> None:
    """Move documents of earlier versions (no thread) into thread 0 and drop the indexes
    that kept one active conversation per chat instead of per topic."""
    await col.update_many({"thread_id": {"$exists": False}}, {"$set": {"thread_id": 0}})
    for name in OBSOLETE_INDEXES:
        # OperationFailure: never created, or dropped by an earlier start.
        with contextlib.suppress(OperationFailure):
            await col.drop_index(name)


class MongoConversationRepository:
    def __init__(self, max_turns: int = DEFAULT_MAX_TURNS) -> None:
        self._col: AsyncCollection[Raw] = ConversationDoc.get_pymongo_collection()
        self._max_turns = max_turns

    async def ensure_indexes(self) -> None:
        await ensure_conversation_indexes(self._col)

    async def _find_active(self, user_id: int, chat_id: int, thread_id: int) -> Raw | None:
        return await self._col.find_one(
            {"user_id": user_id, "chat_id": chat_id, "thread_id": thread_id, "active": True},
            _HIDDEN,
        )

    async def _open(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int,
        model: str | None,
        persona: str | None,
        title: str | None = None,
        incognito: bool = False,
        active: bool = True,
    ) -> Conversation:
        now = utc_ms()
        # Validated by the document model, written through this repository's own collection
        # (Beanie binds documents to one database per process; repositories don't).
        doc = ConversationDoc(
            user_id=user_id,
            chat_id=chat_id,
            thread_id=thread_id,
            model=model,
            persona=persona,
            title=title,
            incognito=incognito,
            active=active,
            title_words=sorted(words_of(title or "")),
            words=sorted(words_of(title or "")),
            created_at=now,
            updated_at=now,
        )
        raw = doc.model_dump(exclude={"id", "revision_id"})
        try:
            result = await self._col.insert_one(raw)
        except DuplicateKeyError:
            # Another handler opened one concurrently; the unique index keeps it single.
            found = await self._find_active(user_id, chat_id, thread_id)
            if found is None:
                raise
            return _conversation(found)
        return _conversation(raw | {"_id": result.inserted_id})

    async def active(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int = 0,
        *,
        model: str | None = None,
        persona: str | None = None,
    ) -> Conversation:
        raw = await self._find_active(user_id, chat_id, thread_id)
        if raw:
            return _conversation(raw)
        return await self._open(user_id, chat_id, thread_id, model, persona)

    async def get(self, conversation_id: str) -> Conversation | None:
        oid = to_oid(conversation_id)
        raw = await self._col.find_one({"_id": oid}, _HIDDEN) if oid else None
        return _conversation(raw) if raw else None

    async def append(self, conversation_id: str, turns: Sequence[Turn]) -> None:
        oid = to_oid(conversation_id)
        if oid is None or not turns:
            return
        words = sorted(words_of_all(t.content for t in turns))
        # $slice keeps only the newest max_turns in the same atomic update.
        await self._col.update_one(
            {"_id": oid},
            {
                "$push": {
                    "turns": {"$each": [_turn_doc(t) for t in turns], "$slice": -self._max_turns}
                },
                "$addToSet": {"words": {"$each": words}, "msg_words": {"$each": words}},
                "$set": {"updated_at": utc_ms()},
            },
        )

    async def start_new(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int = 0,
        *,
        model: str | None = None,
        persona: str | None = None,
        title: str | None = None,
        incognito: bool = False,
    ) -> Conversation:
        key = {"user_id": user_id, "chat_id": chat_id, "thread_id": thread_id, "active": True}
        await self._col.delete_many(key | {"incognito": True})  # it ends: nothing is kept
        await self._col.update_many(key, {"$set": {"active": False, "updated_at": utc_ms()}})
        return await self._open(user_id, chat_id, thread_id, model, persona, title, incognito)

    async def add_aside(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int = 0,
        *,
        model: str | None = None,
        persona: str | None = None,
        title: str | None = None,
    ) -> Conversation:
        return await self._open(user_id, chat_id, thread_id, model, persona, title, active=False)

    async def activate(self, conversation_id: str) -> Conversation | None:
        oid = to_oid(conversation_id)
        raw = (
            await self._col.find_one({"_id": oid}, {"user_id": 1, "chat_id": 1, "thread_id": 1})
            if oid
            else None
        )
        if raw is None:
            return None
        key = {"user_id": raw["user_id"], "chat_id": raw["chat_id"], "thread_id": raw["thread_id"]}
        for _ in range(_RETRIES):
            others = key | {"active": True, "_id": {"$ne": oid}}
            await self._col.delete_many(others | {"incognito": True})  # it ends: nothing kept
            await self._col.update_many(others, {"$set": {"active": False}})
            try:
                await self._col.update_one(
                    {"_id": oid},
                    {"$set": {"active": True, "archived": False, "updated_at": utc_ms()}},
                )
                break
            except DuplicateKeyError:
                continue  # a message opened a fresh one in between: deactivate it too
        return await self.get(conversation_id)

    def _key_filter(self, user_id: int, chat_id: int, thread_id: int) -> Raw:
        return {"user_id": user_id, "chat_id": chat_id, "thread_id": thread_id}

    async def list_page(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int = 0,
        *,
        archived: bool = False,
        offset: int = 0,
        limit: int = 8,
    ) -> list[ConversationInfo]:
        cursor = (
            self._col.find(
                self._key_filter(user_id, chat_id, thread_id) | {"archived": archived}, _INFO
            )
            .sort(_NEWEST)
            .skip(max(0, offset))
            .limit(limit)
        )
        return [_info(raw) async for raw in cursor]

    async def count(
        self, user_id: int, chat_id: int, thread_id: int = 0, *, archived: bool = False
    ) -> int:
        return await self._col.count_documents(
            self._key_filter(user_id, chat_id, thread_id) | {"archived": archived}
        )

    async def search(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int,
        words: Sequence[str],
        *,
        limit: int = 50,
    ) -> list[ConversationInfo]:
        if not words:
            return []
        # The word sets stand in for a text index: exact words, the same in memory, found
        # through the multikey index (user, chat, thread, words).
        query = self._key_filter(user_id, chat_id, thread_id) | {"words": {"$all": list(words)}}
        cursor = self._col.find(query, _INFO).sort(_NEWEST).limit(limit)
        return [_info(raw) async for raw in cursor]

    @staticmethod
    def _titled(title: str) -> list[Raw]:
        """An update pipeline: the title and its words, and the searched words rebuilt as
        message words plus the new title's (so an old title is no longer found)."""
        title_words = sorted(words_of(title))
        return [
            {
                "$set": {
                    "title": title,
                    "title_words": title_words,
                    "words": {"$setUnion": [{"$ifNull": ["$msg_words", []]}, title_words]},
                }
            }
        ]

    async def rename(self, conversation_id: str, title: str) -> bool:
        oid = to_oid(conversation_id)
        if oid is None:
            return False
        result = await self._col.update_one({"_id": oid}, self._titled(title))
        return result.matched_count == 1

    async def replace_title(self, conversation_id: str, old: str | None, new: str) -> bool:
        oid = to_oid(conversation_id)
        if oid is None:
            return False
        result = await self._col.update_one({"_id": oid, "title": old}, self._titled(new))
        return result.matched_count == 1

    async def _set(self, conversation_id: str, fields: Raw) -> bool:
        oid = to_oid(conversation_id)
        if oid is None:
            return False
        result = await self._col.update_one({"_id": oid}, {"$set": fields})
        return result.matched_count == 1

    async def set_model(self, conversation_id: str, model: str | None) -> bool:
        return await self._set(conversation_id, {"model": model})

    async def set_persona(self, conversation_id: str, persona: str | None) -> bool:
        return await self._set(conversation_id, {"persona": persona})

    async def delete(self, conversation_id: str) -> bool:
        oid = to_oid(conversation_id)
        if oid is None:
            return False
        # The turns are embedded: they go with the document.
        return (await self._col.delete_one({"_id": oid})).deleted_count == 1

    async def set_summary(
        self,
        conversation_id: str,
        summary: str,
        until: datetime,
        *,
        previous_until: datetime | None,
    ) -> bool:
        oid = to_oid(conversation_id)
        if oid is None:
            return False
        previous = utc_ms(previous_until) if previous_until is not None else None
        result = await self._col.update_one(
            {"_id": oid, "summary_until": previous},
            {"$set": {"summary": summary, "summary_until": utc_ms(until)}},
        )
        return result.matched_count == 1

    async def delete_all_of_user(self, user_id: int) -> int:
        return (await self._col.delete_many({"user_id": user_id})).deleted_count

    async def archive_overflow(self, user_id: int, keep: int) -> list[ConversationInfo]:
        excess = await self._col.count_documents({"user_id": user_id, "archived": False}) - keep
        if excess <= 0:
            return []
        cursor = (
            self._col.find({"user_id": user_id, "archived": False, "active": False}, _INFO)
            .sort([("updated_at", ASCENDING), ("_id", ASCENDING)])
            .limit(excess)
        )
        victims = [raw async for raw in cursor]
        if not victims:
            return []
        await self._col.update_many(
            {"_id": {"$in": [v["_id"] for v in victims]}}, {"$set": {"archived": True}}
        )
        return [_info(v | {"archived": True}) for v in victims]

    async def find_by_message(
        self, chat_id: int, message_id: int
    ) -> tuple[Conversation, int] | None:
        raw = await self._col.find_one(
            {"chat_id": chat_id, "turns.message_ids": message_id}, _HIDDEN
        )
        if raw is None:
            return None
        conv = _conversation(raw)
        for index, turn in enumerate(conv.turns):
            if message_id in turn.message_ids:
                return conv, index
        return None

    async def _update_last_assistant(self, conversation_id: str, change: Any) -> bool:
        """Apply ``change(index, turn) -> update`` to the newest assistant turn, guarded by
        that turn's identity so a concurrent append (which may shift it) is retried."""
        oid = to_oid(conversation_id)
        if oid is None:
            return False
        for _ in range(_RETRIES):
            raw = await self._col.find_one({"_id": oid}, {"turns": 1})
            if raw is None:
                return False
            turns = [Turn.model_validate(t) for t in raw.get("turns", [])]
            index = next(
                (i for i in range(len(turns) - 1, -1, -1) if turns[i].role == "assistant"), None
            )
            if index is None:
                return False
            guard = {
                "_id": oid,
                f"turns.{index}.role": "assistant",
                f"turns.{index}.created_at": turns[index].created_at,
            }
            result = await self._col.update_one(guard, change(index, turns[index]))
            if result.matched_count == 1:
                return True
        return False

    async def set_message_ids(self, conversation_id: str, message_ids: Sequence[int]) -> bool:
        return await self._update_last_assistant(
            conversation_id,
            lambda i, _t: {"$set": {f"turns.{i}.message_ids": list(message_ids)}},
        )

    async def replace_last_assistant(
        self, conversation_id: str, turn: Turn, tool_turns: Sequence[Turn] = ()
    ) -> bool:
        oid = to_oid(conversation_id)
        if oid is None:
            return False
        new = [_turn_doc(t) for t in (*tool_turns, turn)]
        words = words_of_all(t.content for t in (*tool_turns, turn))
        for _ in range(_RETRIES):
            raw = await self._col.find_one({"_id": oid}, {"turns": 1})
            if raw is None:
                return False
            docs = raw.get("turns", [])
            turns = [Turn.model_validate(t) for t in docs]
            index = next(
                (i for i in range(len(turns) - 1, -1, -1) if turns[i].role == "assistant"), None
            )
            if index is None:
                return False
            start = answer_start(turns, index)
            # The whole array, guarded by the answer's identity and the array's length:
            # a concurrent change makes the update miss, and it is tried again.
            guard = {
                "_id": oid,
                f"turns.{index}.role": "assistant",
                f"turns.{index}.created_at": turns[index].created_at,
                "turns": {"$size": len(docs)},
            }
            result = await self._col.update_one(
                guard,
                {
                    "$set": {
                        "turns": [*docs[:start], *new, *docs[index + 1 :]],
                        "updated_at": utc_ms(),
                    },
                    "$addToSet": _words_update(words),
                },
            )
            if result.matched_count == 1:
                return True
        return False

    async def replace_last_exchange(
        self, conversation_id: str, question_message_id: int, turns: Sequence[Turn]
    ) -> bool:
        oid = to_oid(conversation_id)
        if oid is None:
            return False
        new = [_turn_doc(t) for t in turns]
        for _ in range(_RETRIES):
            raw = await self._col.find_one({"_id": oid}, {"turns": 1})
            if raw is None:
                return False
            docs = raw.get("turns", [])
            old = [Turn.model_validate(t) for t in docs]
            index = next((i for i in range(len(old) - 1, -1, -1) if old[i].role == "user"), None)
            if index is None or question_message_id not in old[index].message_ids:
                return False
            # Guarded like replace_last_assistant: a concurrent change makes it miss and retry.
            guard = {
                "_id": oid,
                f"turns.{index}.role": "user",
                f"turns.{index}.created_at": old[index].created_at,
                "turns": {"$size": len(docs)},
            }
            result = await self._col.update_one(
                guard,
                {
                    "$set": {"turns": [*docs[:index], *new], "updated_at": utc_ms()},
                    "$addToSet": _words_update(words_of_all(t.content for t in turns)),
                },
            )
            if result.matched_count == 1:
                return True
        return False

    async def extend_last_assistant(
        self, conversation_id: str, text: str, message_ids: Sequence[int] = ()
    ) -> bool:
        return await self._update_last_assistant(
            conversation_id,
            lambda i, t: {
                "$set": {
                    f"turns.{i}.content": t.content + text,
                    f"turns.{i}.message_ids": [*t.message_ids, *message_ids],
                    "updated_at": utc_ms(),
                },
                "$addToSet": _words_update(words_of(text)),
            },
        )
