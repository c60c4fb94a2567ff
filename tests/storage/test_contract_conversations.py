"""ConversationRepository contract, run on every backend."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from app.storage import Storage, Turn
from app.storage.base import DEFAULT_MAX_TURNS
from app.storage.memory import DEFAULT_MAX_CONVERSATIONS, MemoryConversationRepository


async def test_active_is_created_once(storage: Storage) -> None:
    convs = storage.conversations
    many = await asyncio.gather(*(convs.active(1, 10) for _ in range(6)))
    assert len({c.id for c in many}) == 1
    conv = many[0]
    assert conv.active and conv.turns == [] and (conv.user_id, conv.chat_id) == (1, 10)
    assert (await convs.active(1, 11)).id != conv.id  # another chat, another conversation
    assert await convs.get(conv.id) == conv


async def test_append_keeps_order_and_values(storage: Storage) -> None:
    convs = storage.conversations
    conv = await convs.active(2, 20)
    when = datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=UTC)
    await convs.append(
        conv.id,
        [
            Turn(role="user", content="hi", created_at=when),
            Turn(role="assistant", content="hello", model="gpt", tokens=12, created_at=when),
        ],
    )
    await convs.append(conv.id, [Turn(role="user", content="more")])
    got = await convs.active(2, 20)
    assert [(t.role, t.content) for t in got.turns] == [
        ("user", "hi"),
        ("assistant", "hello"),
        ("user", "more"),
    ]
    assert got.turns[1].model == "gpt" and got.turns[1].tokens == 12
    # Stored at millisecond precision, in UTC, on both backends.
    assert got.turns[0].created_at == datetime(2026, 11, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert got.updated_at >= got.created_at


async def test_append_caps_stored_turns(storage: Storage) -> None:
    convs = storage.conversations
    conv = await convs.active(3, 30)
    total = DEFAULT_MAX_TURNS + 5
    turns = [Turn(role="user", content=str(i)) for i in range(total)]
    await convs.append(conv.id, turns[:100])
    await convs.append(conv.id, turns[100:])
    got = await convs.get(conv.id)
    assert got is not None and len(got.turns) == DEFAULT_MAX_TURNS
    assert got.turns[0].content == "5" and got.turns[-1].content == str(total - 1)


async def test_start_new_deactivates_old(storage: Storage) -> None:
    convs = storage.conversations
    old = await convs.active(4, 40)
    await convs.append(old.id, [Turn(role="user", content="remember me")])
    new = await convs.start_new(4, 40)
    assert new.id != old.id and new.active and new.turns == []
    assert (await convs.active(4, 40)).id == new.id
    kept = await convs.get(old.id)
    assert kept is not None and not kept.active and kept.turns[0].content == "remember me"
    # start_new with no active conversation just opens one.
    fresh = await convs.start_new(5, 50)
    assert (await convs.active(5, 50)).id == fresh.id


async def test_unknown_conversation(storage: Storage) -> None:
    assert await storage.conversations.get("0" * 24) is None
    assert await storage.conversations.get("bogus") is None
    await storage.conversations.append("0" * 24, [Turn(role="user", content="x")])  # no-op


async def test_memory_store_forgets_the_least_recently_used_inactive_conversation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    repo = MemoryConversationRepository(max_conversations=4)
    a = await repo.active(1, 1)
    b = await repo.active(1, 2)
    await repo.start_new(1, 2)  # b is inactive now
    await repo.start_new(1, 1)  # so is a
    await repo.append(a.id, [Turn(role="user", content="keep me")])  # a is used again
    with caplog.at_level(logging.WARNING, logger="app.storage.memory.conversations"):
        c = await repo.active(1, 3)  # over the bound: b, the least recently used, goes
    assert await repo.get(b.id) is None
    kept = await repo.get(a.id)
    assert kept is not None and [t.content for t in kept.turns] == ["keep me"]
    assert sum("being forgotten" in r.getMessage() for r in caplog.records) == 1
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="app.storage.memory.conversations"):
        await repo.start_new(1, 3)  # c is inactive and least recently used: warned once
    assert await repo.get(c.id) is None
    assert not any("being forgotten" in r.getMessage() for r in caplog.records)
    assert len(repo._convs) == 4


async def test_memory_store_never_forgets_an_active_conversation() -> None:
    repo = MemoryConversationRepository(max_conversations=2)
    first = await repo.active(1, 1)
    await repo.append(first.id, [Turn(role="user", content="still here")])
    for chat in range(2, 6):  # each chat's conversation is active in its chat
        await repo.active(1, chat)
    assert len(repo._convs) == 5  # over the bound, none of them lost
    assert [t.content for t in (await repo.active(1, 1)).turns] == ["still here"]
    await repo.start_new(1, 1)  # the first is inactive now: the bound takes it
    assert await repo.get(first.id) is None


async def test_memory_store_bound_holds_under_a_flood_of_chats() -> None:
    repo = MemoryConversationRepository(max_conversations=100)
    for chat in range(1_000):
        conv = await repo.active(7, chat % 50)
        await repo.append(conv.id, [Turn(role="user", content="x")])
        await repo.start_new(7, chat % 50)  # the old one stays for history, within the bound
    assert len(repo._convs) == 100
    assert len(repo._active) == 50
    assert DEFAULT_MAX_CONVERSATIONS == 10_000


async def test_memory_message_index_drops_trimmed_turns() -> None:
    repo = MemoryConversationRepository(max_turns=4)
    conv = await repo.active(1, 1)
    for i in range(10):
        await repo.append(
            conv.id,
            [
                Turn(role="user", content=f"q{i}", message_ids=[10 * i]),
                Turn(role="assistant", content=f"a{i}", message_ids=[10 * i + 1]),
            ],
        )
    assert len(repo._by_message) == 4  # the kept turns' ids only
    assert await repo.find_by_message(1, 0) is None
    assert await repo.find_by_message(1, 91) is not None
    await repo.set_message_ids(conv.id, [500, 501])  # the last answer moved
    await repo.replace_last_assistant(conv.id, Turn(role="assistant", content="b", message_ids=[7]))
    assert sorted(mid for _chat, mid in repo._by_message) == [7, 80, 81, 90]
    await repo.delete(conv.id)
    assert repo._by_message == {}
