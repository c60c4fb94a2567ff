"""A large conversation export is built off the event loop: other chats keep being served
while it is encoded (ordering asserted, not wall-clock limits)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from app.services.conversations.export import ExportService
from app.storage import Conversation, Turn


def big_conversation(turns: int = 120, chars: int = 60_000) -> Conversation:
    text = ('Слово word «quoted» "x" \\ ' * (chars // 26 + 1))[:chars]
    when = datetime(2026, 11, 1, tzinfo=UTC)
    return Conversation(
        id="0" * 24,
        user_id=1,
        chat_id=1,
        turns=[
            Turn(role="user" if i % 2 == 0 else "assistant", content=text) for i in range(turns)
        ],
        created_at=when,
    )


async def test_other_coroutines_run_while_a_large_export_is_built() -> None:
    conv = big_conversation()
    exporter = ExportService()
    ticks_before_done: list[int] = []
    ticks = 0

    async def another_chat() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(another_chat())
    await asyncio.sleep(0)  # it runs once before the export starts
    start = ticks
    files = await exporter.build(conv, "P", "Big")
    ticks_before_done.append(ticks - start)
    other.cancel()
    # The other coroutine kept running while the documents were built: with the export on
    # the loop it could not have run at all between the start and the end.
    assert ticks_before_done[0] > 1
    assert sum(len(f.data) for f in files) > 10_000_000
    assert [f.filename.rsplit(".", 1)[1] for f in files] == ["md", "json"]


async def test_the_built_export_is_the_same_as_the_direct_one() -> None:
    conv = big_conversation(turns=4, chars=1000)
    exporter = ExportService()
    assert await exporter.build(conv, "P", "T") == exporter.export(conv, "P", "T")
