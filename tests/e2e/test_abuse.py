"""Abuse costs the bot nothing: stranger floods, request floods, racing presses."""

from __future__ import annotations

import asyncio

from app.config import BotSettings
from tests.e2e.conftest import ADMIN_ID, STRANGER_ID, StartBot
from tests.e2e.test_webhook import SECRET, two_instances
from tests.fakes.openai_server import FakeOpenAI
from tests.storage.mongo_server import MongoTarget
from tests.tg_emulator import TelegramEmulator


def bot_settings(**kw: object) -> BotSettings:
    return BotSettings(draft_interval=0.02, edit_interval=0.05, **kw)  # type: ignore[arg-type]


async def test_stranger_flood_gets_one_refusal_per_cooldown(start_bot: StartBot) -> None:
    async with start_bot(bot=bot_settings(stranger_refusal_cooldown_seconds=3600)) as running:
        tg = running.tg
        stranger = tg.user(STRANGER_ID, "Eve", username="eve")
        for i in range(300):
            await stranger.send(f"spam {i}")
        await tg.wait_until(lambda: stranger.chat.bot_messages, timeout=10)
        await tg.wait_quiet(quiet=0.5, timeout=30)
        # 300 messages, one sendMessage: the rest were dropped without a Telegram call.
        assert len(stranger.chat.bot_messages) == 1
        assert "private bot" in stranger.chat.bot_messages[0].text
        assert running.fake_llm.chat_requests == []


async def test_pending_requests_are_capped(start_bot: StartBot) -> None:
    async with start_bot(bot=bot_settings(max_pending_requests=2)) as running:
        tg = running.tg
        admin = tg.user(ADMIN_ID, "Ada", username="ada")
        await admin.send("/start")
        await tg.wait_for_message(admin.id)
        answers = []
        for n in range(3):
            stranger = tg.user(STRANGER_ID + n, f"S{n}")
            await stranger.send("hi")
            refusal = await tg.wait_for_message(stranger.id)
            answers.append(await stranger.press(refusal, "🔑 Request access"))
        await tg.wait_quiet()
        assert answers[2] is not None and "too many" in (answers[2].text or "")
        cards = [m for m in admin.messages if "Access request" in m.text]
        assert len(cards) == 2  # no card for the request over the cap
        assert len(await running.storage.requests.list_pending()) == 2


async def test_racing_request_presses_give_one_card_on_two_instances(
    tg: TelegramEmulator, fake_llm: FakeOpenAI, mongo: MongoTarget
) -> None:
    async with two_instances(tg, fake_llm, mongo) as (a, b):
        tg.deliver_to([a.url, b.url], secret_token=SECRET)
        admin = tg.user(ADMIN_ID, "Ada", username="ada")
        await admin.send("/start")
        await tg.wait_for_message(admin.id)
        stranger = tg.user(STRANGER_ID, "Eve", username="eve")
        await stranger.send("hi")
        refusal = await tg.wait_for_message(stranger.id)
        await asyncio.gather(
            *(stranger.press(refusal, "🔑 Request access", timeout=20) for _ in range(20))
        )
        await tg.wait_quiet(quiet=0.5, timeout=20)
        assert {d.url for d in tg.webhook_deliveries if d.status == 200} == {a.url, b.url}
        cards = [m for m in admin.messages if "Access request" in m.text]
        assert len(cards) == 1
        assert len(await a.app.storage.requests.list_pending()) == 1
