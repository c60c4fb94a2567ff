"""Contract: an incognito conversation is deleted as soon as it stops being active."""

from __future__ import annotations

from app.storage import Storage, Turn


async def test_incognito_is_gone_after_new(storage: Storage) -> None:
    repo = storage.conversations
    kept = await repo.active(1, 1)
    await repo.append(kept.id, [Turn(role="user", content="kept")])
    secret = await repo.start_new(1, 1, incognito=True)
    assert secret.incognito
    await repo.append(secret.id, [Turn(role="user", content="secret", message_ids=[7])])
    assert (await repo.active(1, 1)).id == secret.id
    fresh = await repo.start_new(1, 1)
    assert not fresh.incognito
    assert await repo.get(secret.id) is None
    assert await repo.find_by_message(1, 7) is None
    assert await repo.get(kept.id) is not None  # an ordinary one is kept
    assert await repo.search(1, 1, 0, ["secret"]) == []


async def test_incognito_is_gone_when_another_conversation_is_opened(storage: Storage) -> None:
    repo = storage.conversations
    old = await repo.active(1, 1)
    await repo.append(old.id, [Turn(role="user", content="old")])
    secret = await repo.start_new(1, 1, incognito=True)
    await repo.append(secret.id, [Turn(role="user", content="secret")])
    opened = await repo.activate(old.id)
    assert opened is not None and opened.active
    assert await repo.get(secret.id) is None
    assert await repo.count(1, 1) == 1
