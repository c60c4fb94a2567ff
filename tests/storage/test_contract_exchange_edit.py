"""Contract: an edited question replaces the newest exchange (both backends)."""

from __future__ import annotations

import asyncio

from app.storage import Storage, Turn


async def test_replace_last_exchange_swaps_question_tools_and_answer(storage: Storage) -> None:
    repo = storage.conversations
    conv = await repo.active(1, 10)
    await repo.append(
        conv.id,
        [
            Turn(role="user", content="first", message_ids=[1]),
            Turn(role="assistant", content="answer one", message_ids=[2]),
        ],
    )
    await repo.append(
        conv.id,
        [
            Turn(role="user", content="typo questoin", message_ids=[3]),
            Turn(role="assistant", content="", tool_calls=[{"id": "c", "type": "function"}]),
            Turn(role="tool", content="result", tool_call_id="c", name="web_search"),
            Turn(role="assistant", content="old answer", message_ids=[4, 5]),
        ],
    )
    new = [
        Turn(role="user", content="fixed question", message_ids=[3]),
        Turn(role="assistant", content="new answer", message_ids=[6]),
    ]
    assert await repo.replace_last_exchange(conv.id, 3, new)
    stored = await repo.get(conv.id)
    assert stored is not None
    assert [t.content for t in stored.turns] == [
        "first",
        "answer one",
        "fixed question",
        "new answer",
    ]
    # The old answer's messages no longer lead to the conversation; the new one's do.
    assert await repo.find_by_message(10, 4) is None
    found = await repo.find_by_message(10, 6)
    assert found is not None and found[1] == 3


async def test_replace_last_exchange_refuses_an_older_question(storage: Storage) -> None:
    repo = storage.conversations
    conv = await repo.active(1, 10)
    await repo.append(
        conv.id,
        [
            Turn(role="user", content="q1", message_ids=[1]),
            Turn(role="assistant", content="a1", message_ids=[2]),
            Turn(role="user", content="q2", message_ids=[3]),
            Turn(role="assistant", content="a2", message_ids=[4]),
        ],
    )
    assert not await repo.replace_last_exchange(conv.id, 1, [Turn(role="user", content="x")])
    assert not await repo.replace_last_exchange("nope", 3, [Turn(role="user", content="x")])
    stored = await repo.get(conv.id)
    assert stored is not None and [t.content for t in stored.turns] == ["q1", "a1", "q2", "a2"]


async def test_a_summary_is_kept_with_the_turns_it_covers(storage: Storage) -> None:
    repo = storage.conversations
    conv = await repo.active(1, 10)
    await repo.append(
        conv.id, [Turn(role="user", content="a"), Turn(role="assistant", content="b")]
    )
    await asyncio.sleep(0.01)  # exchanges are apart in time (a model call at least)
    await repo.append(
        conv.id, [Turn(role="user", content="c"), Turn(role="assistant", content="d")]
    )
    stored = await repo.get(conv.id)
    assert stored is not None and stored.summary is None
    until = stored.turns[1].created_at
    assert await repo.set_summary(conv.id, "a and b", until, previous_until=None)
    # A second summarizer that started from the same state loses: nothing is overwritten.
    assert not await repo.set_summary(conv.id, "other", until, previous_until=None)
    stored = await repo.get(conv.id)
    assert stored is not None and stored.summary == "a and b"
    assert [t.content for t in stored.turns if not stored.folded(t)] == ["c", "d"]
    assert len(stored.turns) == 4  # the turns stay, for the user
    later = stored.turns[3].created_at
    assert await repo.set_summary(conv.id, "a to d", later, previous_until=stored.summary_until)
    stored = await repo.get(conv.id)
    assert stored is not None and [t for t in stored.turns if not stored.folded(t)] == []
