"""One Telegram send budget for all instances: two and three webhook instances on one
MongoDB (SecantusDB), the emulator enforcing Telegram-like flood limits just above the
bot-wide budget. Each takes its share, none is refused with a 429, and every user is
answered. How close together they come to the budget is measured in
bench/send_budget_bench.py, not asserted here: on a shared 2-core machine a burst's wall-clock
rate is noise (a CI run measured 8.7/s of 10 for three instances once)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.config import BotSettings
from llmdoor import AccessSettings
from tests.e2e.conftest import ADMIN_ID
from tests.e2e.test_webhook import (
    SECRET,
    WebhookInstance,
    build_mongo_app,
    mongo_settings,
    serve_webhook,
)
from tests.fakes.openai_server import FakeOpenAI
from tests.storage.mongo_server import MongoTarget, fresh_db_name
from tests.tg_emulator import TelegramEmulator
from tests.tg_emulator.models import FloodLimits

pytestmark = pytest.mark.mongodb
log = logging.getLogger(__name__)

BUDGET = 10.0  # BOT_GLOBAL_RATE_PER_SECOND
# Telegram's side: a little above the budget, so that instances each taking the whole
# budget (the old behaviour) would be refused.
FLOOD = FloodLimits(global_rate=BUDGET * 1.1, global_burst=BUDGET * 1.1, per_chat_burst=3)


@contextlib.asynccontextmanager
async def instances(
    tg: TelegramEmulator, fake_llm: FakeOpenAI, mongo: MongoTarget, n: int
) -> AsyncIterator[list[WebhookInstance]]:
    db = fresh_db_name("budget")
    settings = mongo_settings(
        tg,
        fake_llm,
        mongo.uri,
        db,
        access=AccessSettings(admins=str(ADMIN_ID), allow_everyone=True),
        bot=BotSettings(draft_interval=0.02, edit_interval=0.05, global_rate_per_second=BUDGET),
    )
    async with contextlib.AsyncExitStack() as stack:
        insts = [
            await stack.enter_async_context(serve_webhook(await build_mongo_app(tg, settings)))
            for _ in range(n)
        ]
        for inst in insts:  # what lifecycle.on_startup does
            await inst.app.send_budget.start()
            stack.push_async_callback(inst.app.send_budget.stop)
        # every instance has seen all the others (within a heartbeat or two)
        await tg.wait_until(lambda: all(i.app.send_budget.live == n for i in insts), timeout=10)
        try:
            yield insts
        finally:
            with contextlib.suppress(TimeoutError):
                await tg.wait_quiet(quiet=0.3, timeout=10)
            tg.deliver_to([])


async def burst(tg: TelegramEmulator, insts: list[WebhookInstance], n_users: int) -> float:
    """``n_users`` message at once over all instances; returns answers sent per second."""
    tg.flood_limits = FLOOD
    tg.deliver_to([i.url for i in insts], secret_token=SECRET)
    mark = tg.mark()
    users = [tg.user(50_000 + len(insts) * 1000 + i, f"U{i}") for i in range(n_users)]
    for u in users:
        await u.send(f"hello from {u.id}")
    await tg.wait_until(
        lambda: all(any(m.text.startswith("echo:") for m in u.chat.bot_messages) for u in users),
        timeout=60,
    )
    sends = [c for c in tg.calls("sendMessage", since=mark) if c.status == 200]
    assert len(sends) == n_users
    elapsed = sends[-1].time - sends[0].time
    return (len(sends) - 1) / elapsed


@pytest.mark.parametrize("n", [2, 3])
async def test_instances_share_one_send_budget(
    tg: TelegramEmulator, fake_llm: FakeOpenAI, mongo: MongoTarget, n: int
) -> None:
    async with instances(tg, fake_llm, mongo, n) as insts:
        for inst in insts:
            assert inst.app.send_budget.limiter.rate == pytest.approx(BUDGET / n)
        rate = await burst(tg, insts, n_users=60)
        log.info("%s instances: %.1f answers/s (budget %.0f/s)", n, rate, BUDGET)
        assert tg.flood_429_count == 0
        assert tg.served_429 == 0
        # the shares are still BUDGET / n after the burst: nobody dropped out of the registry
        assert all(i.app.send_budget.live == n for i in insts)


async def test_share_adapts_when_an_instance_stops_or_dies(
    tg: TelegramEmulator, fake_llm: FakeOpenAI, mongo: MongoTarget
) -> None:
    async with instances(tg, fake_llm, mongo, 3) as insts:
        a, b, c = (i.app.send_budget for i in insts)
        await c.stop()  # a clean stop leaves the registry at once
        await tg.wait_until(lambda: a.live == 2 and b.live == 2, timeout=10)
        assert a.limiter.rate == pytest.approx(BUDGET / 2)
        # b dies: no more heartbeats, no goodbye
        task: Any = b._task
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        b._task = None
        await tg.wait_until(lambda: a.live == 1, timeout=15)
        assert a.limiter.rate == pytest.approx(BUDGET)
