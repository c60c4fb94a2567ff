"""Contract: group history (app.storage.group_history) on both backends: bounded per
chat, expired by time on read, topics apart, chats apart, an edit replaces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from app.storage import Storage, open_storage
from app.storage.group_history import GroupMessage
from app.storage.memory.group_history import MemoryGroupHistoryRepository
from app.storage.mongo.group_history import COLLECTION
from tests.storage.mongo_server import MongoTarget, mongo_kind

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def said(
    chat_id: int, message_id: int, text: str, *, thread_id: int = 0, at: datetime = T0
) -> GroupMessage:
    return GroupMessage(
        chat_id=chat_id,
        thread_id=thread_id,
        message_id=message_id,
        sender_id=message_id % 3 + 1,
        sender_name=f"user {message_id % 3 + 1}",
        text=text,
        at=at,
        expires_at=at + timedelta(hours=48),
    )


async def test_history_keeps_the_newest_per_chat_in_order(storage: Storage) -> None:
    history = storage.group_history
    await history.add([said(-1, i, f"m{i}") for i in range(1, 6)], keep=3)
    await history.add([said(-2, 1, "other chat")], keep=3)
    got = await history.recent(-1, thread_id=None, now=T0, limit=100)
    assert [m.text for m in got] == ["m3", "m4", "m5"]  # the newest three, oldest first
    await history.add([said(-1, 6, "m6")], keep=3)
    got = await history.recent(-1, thread_id=None, now=T0, limit=100)
    assert [m.text for m in got] == ["m4", "m5", "m6"]
    assert [m.text for m in await history.recent(-1, thread_id=None, now=T0, limit=2)] == [
        "m5",
        "m6",
    ]
    assert [m.text for m in await history.recent(-2, thread_id=None, now=T0, limit=9)] == [
        "other chat"
    ]
    assert await history.recent(-3, thread_id=None, now=T0, limit=9) == []
    first = got[0]
    assert first.chat_id == -1 and first.sender_name == "user 2" and first.at == T0


async def test_history_expires_by_time_and_topics_are_apart(storage: Storage) -> None:
    history = storage.group_history
    await history.add([said(-1, 1, "old", at=T0)], keep=10)
    later = T0 + timedelta(hours=30)
    await history.add(
        [said(-1, 2, "topic 7", thread_id=7, at=later), said(-1, 3, "general", at=later)],
        keep=10,
    )
    now = T0 + timedelta(hours=49)  # the first message is past its 48 hours
    assert [m.text for m in await history.recent(-1, thread_id=None, now=now, limit=9)] == [
        "topic 7",
        "general",
    ]
    assert [m.text for m in await history.recent(-1, thread_id=7, now=now, limit=9)] == ["topic 7"]
    assert [m.text for m in await history.recent(-1, thread_id=0, now=now, limit=9)] == ["general"]
    gone = T0 + timedelta(hours=79)
    assert await history.recent(-1, thread_id=None, now=gone, limit=9) == []


async def test_messages_stored_out_of_order_keep_the_newest_by_id(storage: Storage) -> None:
    history = storage.group_history
    await history.add([said(-1, 5, "m5"), said(-1, 3, "m3")], keep=2)
    await history.add([said(-1, 4, "m4")], keep=2)
    assert [m.text for m in await history.recent(-1, thread_id=None, now=T0, limit=9)] == [
        "m4",
        "m5",
    ]


async def test_an_edit_replaces_the_message(storage: Storage) -> None:
    history = storage.group_history
    await history.add([said(-1, 1, "typo")], keep=10)
    await history.add([said(-1, 1, "fixed")], keep=10)
    assert [m.text for m in await history.recent(-1, thread_id=None, now=T0, limit=9)] == ["fixed"]


async def test_memory_history_holds_a_bounded_number_of_chats() -> None:
    history = MemoryGroupHistoryRepository(max_chats=2)
    for chat in (-1, -2, -3):
        await history.add([said(chat, 1, "hi")], keep=5)
    assert history.chats == 2
    assert await history.recent(-1, thread_id=None, now=T0, limit=9) == []  # the oldest went
    assert len(await history.recent(-3, thread_id=None, now=T0, limit=9)) == 1


@pytest.mark.mongodb
async def test_mongo_drops_expired_history_by_its_ttl_index(
    mongo: MongoTarget, scratch_db: str
) -> None:
    storage = await open_storage(mongo.uri, db_name=scratch_db)
    try:
        col = AsyncMongoClient[dict[str, Any]](mongo.uri)
        try:
            indexes = {
                ix["name"]: ix async for ix in await col[scratch_db][COLLECTION].list_indexes()
            }
            assert indexes["expiry"]["expireAfterSeconds"] == 0
            assert {"chat_newest", "topic_newest"} <= set(indexes)
            past = datetime.now(UTC) - timedelta(hours=50)
            await storage.group_history.add([said(-1, 1, "long ago", at=past)], keep=9)
            await storage.group_history.add([said(-1, 2, "today", at=datetime.now(UTC))], keep=9)
            if mongo_kind() == "secantus":  # its TTL sweep runs every minute: run one now
                await col[scratch_db].command("secantusAdmin.pruneTtl")
                texts = [d["text"] async for d in col[scratch_db][COLLECTION].find()]
                assert texts == ["today"]
        finally:
            await col.close()
    finally:
        await storage.close()
