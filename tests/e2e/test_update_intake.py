"""The update intake end to end: an answer hands its place on as soon as "typing…" is on
its way, so a burst larger than the intake's width shows every asker a sign of life while
the first answers are still being written (the hold is made long here, so nothing but
the chat service's leave_intake() can let the next update in)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from llmdoor import AccessSettings
from tests.e2e.conftest import Running, StartBot
from tests.fakes.openai_server import Reply

USERS = [201, 202, 203, 204, 205, 206]


@pytest_asyncio.fixture
async def everyone(start_bot: StartBot) -> AsyncIterator[Running]:
    access = AccessSettings(admins="100", friends=",".join(map(str, USERS)))
    async with start_bot(access=access) as running:
        yield running


async def test_a_burst_wider_than_the_intake_gets_typing_before_any_answer(
    everyone: Running,
) -> None:
    running = everyone
    tg, fake = running.tg, running.fake_llm
    assert len(USERS) > running.app.intake.width
    running.app.intake.hold = 30.0
    fake.script(*(Reply(text=f"answer {n}", delay=1.0) for n in range(len(USERS))))
    mark = len(tg.calls())
    for uid in USERS:
        await tg.user(uid, f"U{uid}").send(f"question from {uid}")
    for uid in USERS:
        await tg.wait_for_message(uid, lambda m: m.text.startswith("answer "), timeout=15)
    calls = tg.calls()[mark:]
    typing = [i for i, c in enumerate(calls) if c.method == "sendChatAction"]
    finals = [i for i, c in enumerate(calls) if c.method == "sendMessage"]
    assert {calls[i].params["chat_id"] for i in typing} == set(USERS)
    assert max(typing) < min(finals)
    assert running.app.intake.inside == 0
