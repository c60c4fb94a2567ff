"""ConversationRepository contract, run on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

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


async def test_memory_store_forgets_the_least_recently_used_conversation() -> None:
    repo = MemoryConversationRepository(max_conversations=3)
    a = await repo.active(1, 1)
    b = await repo.active(1, 2)
    c = await repo.active(1, 3)
    await repo.append(a.id, [Turn(role="user", content="keep me")])  # a is used again
    d = await repo.active(1, 4)  # over the bound: b, the least recently used, goes
    assert set(repo._convs) == {a.id, c.id, d.id}  # looked at without touching them
    fresh = await repo.active(1, 2)  # chat 2 starts over
    assert fresh.id != b.id and fresh.turns == []
    assert await repo.get(c.id) is None  # c was now the least recently used
    assert await repo.get(b.id) is None
    assert [t.content for t in (await repo.active(1, 1)).turns] == ["keep me"]
    assert len(repo._convs) == 3


async def test_memory_store_bound_holds_under_a_flood_of_chats() -> None:
    repo = MemoryConversationRepository(max_conversations=100)
    for chat in range(1_000):
        conv = await repo.active(7, chat)
        await repo.append(conv.id, [Turn(role="user", content="x")])
        if chat % 2:
            await repo.start_new(7, chat)  # the old one stays for history, within the bound
    assert len(repo._convs) == 100
    assert len(repo._active) <= 100
    assert DEFAULT_MAX_CONVERSATIONS == 10_000
