"""Budgets are a hard limit: a friend with almost nothing left who writes in seven chats at
once gets at most one model call, on one instance and across two webhook instances sharing
one MongoDB. The model is a priced one (gpt-4o-mini's price from litellm's map), served by
the fake OpenAI server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from app.config import Settings
from app.storage import Storage
from llmdoor import LLMSettings
from tests.e2e.conftest import FRIEND_ID, StartBot
from tests.e2e.test_webhook import SECRET, two_instances
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.storage.mongo_server import MongoTarget
from tests.tg_emulator import TelegramEmulator

PRICED_MODEL = "gpt-4o-mini"  # $0.60 per million output tokens in litellm's map
MAX_TOKENS = 1000  # the non-admin cap: one call reserves about $0.0006
BUDGET = 1.0
LEFT = 0.0009  # room for one call's reservation, not for two


def priced_llm(fake_llm: FakeOpenAI) -> LLMSettings:
    return LLMSettings(
        default_model=PRICED_MODEL,
        api_base=fake_llm.base_url,
        api_key="sk-test",
        max_retries=0,
        timeout=10,
        user_max_tokens=MAX_TOKENS,
    )


async def leave_almost_nothing(storage: Storage) -> None:
    await storage.users.set_budget(FRIEND_ID, BUDGET)
    today = datetime.now(UTC).date()
    assert await storage.spend.reserve(FRIEND_ID, today, BUDGET - LEFT, None)


async def write_in_seven_chats(tg: TelegramEmulator) -> None:
    friend = tg.user(FRIEND_ID, "Fred")
    groups = [tg.group(-700 - i, f"Group {i}") for i in range(6)]
    await asyncio.gather(
        friend.send("private question"),
        *(friend.send_in(g, f"question {i}", mention_bot=True) for i, g in enumerate(groups)),
    )
    chats = [friend.chat, *(g.chat for g in groups)]
    # Every chat gets an answer: one from the model, the others a budget refusal.
    await tg.wait_until(lambda: all(c.bot_messages for c in chats), timeout=20)
    await tg.wait_quiet()
    texts = [m.text for c in chats for m in c.bot_messages]
    assert sum("budget" in t for t in texts) >= 6, texts


async def test_parallel_chats_cannot_overspend_one_instance(
    start_bot: StartBot, fake_llm: FakeOpenAI
) -> None:
    # Slow answers: every chat reserves while the first call is still running.
    fake_llm.script(*[Reply.slow(1.0, "paid answer")] * 7)
    async with start_bot(llm=priced_llm(fake_llm)) as running:
        await leave_almost_nothing(running.storage)
        await write_in_seven_chats(running.tg)
        assert len(fake_llm.chat_requests) == 1
        assert fake_llm.chat_requests[0].json["max_tokens"] == MAX_TOKENS
        today = datetime.now(UTC).date()
        assert await running.storage.spend.spent(FRIEND_ID, today) <= BUDGET


async def test_parallel_chats_cannot_overspend_two_webhook_instances(
    tg: TelegramEmulator, fake_llm: FakeOpenAI, mongo: MongoTarget
) -> None:
    fake_llm.script(*[Reply.slow(1.0, "paid answer")] * 7)
    async with two_instances(tg, fake_llm, mongo, llm=priced_llm(fake_llm)) as (a, b):
        tg.deliver_to([a.url, b.url], secret_token=SECRET)
        await leave_almost_nothing(a.app.storage)
        await write_in_seven_chats(tg)
        assert {d.url for d in tg.webhook_deliveries if d.status == 200} == {a.url, b.url}
        assert len(fake_llm.chat_requests) == 1
        today = datetime.now(UTC).date()
        assert await b.app.storage.spend.spent(FRIEND_ID, today) <= BUDGET


async def test_default_budget_binds_friends_not_admins(
    start_bot: StartBot, fake_llm: FakeOpenAI
) -> None:
    from llmdoor import AccessSettings
    from tests.e2e.conftest import ADMIN_ID

    access = AccessSettings(
        admins=str(ADMIN_ID), friends=str(FRIEND_ID), default_daily_budget_usd=0.0005
    )
    async with start_bot(llm=priced_llm(fake_llm), access=access) as running:
        tg = running.tg
        friend, admin = tg.user(FRIEND_ID, "Fred"), tg.user(ADMIN_ID, "Ada")
        await friend.send("hello")
        refusal = await tg.wait_for_message(friend.id)
        assert "budget" in refusal.text  # $0.0005 does not cover a 1000-token answer
        await admin.send("hello")
        answer = await tg.wait_for_message(admin.id)
        assert answer.text.startswith("echo:")
        assert len(fake_llm.chat_requests) == 1
        settings: Settings = running.app.settings
        assert settings.access.default_daily_budget_usd == 0.0005
