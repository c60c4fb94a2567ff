"""Webhook delivery mode: POSTs with the secret header, round-robin over instances."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramConflictError
from aiohttp import web

from tests.tg_emulator import TelegramEmulator


@asynccontextmanager
async def receiver(
    name: str, got: list[tuple[str, dict[str, Any], str | None]]
) -> AsyncIterator[str]:
    """A tiny webhook endpoint that records what it receives."""

    async def handle(request: web.Request) -> web.Response:
        got.append(
            (name, await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        )
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        await runner.cleanup()


async def test_webhook_delivery_with_secret(emu: TelegramEmulator, bot: Bot) -> None:
    got: list[tuple[str, dict[str, Any], str | None]] = []
    async with receiver("a", got) as url_a, receiver("b", got) as url_b:
        await bot.set_webhook(url_a, secret_token="s3cret")
        info = await bot.get_webhook_info()
        assert info.url == url_a
        with pytest.raises(TelegramConflictError):
            await bot.get_updates(timeout=0)
        user = emu.user(3001, "Gus")
        await user.send("via webhook")
        await emu.wait_until(lambda: len(got) == 1, timeout=5)
        name, update, secret = got[0]
        assert (name, secret) == ("a", "s3cret")
        assert update["message"]["text"] == "via webhook"

        emu.deliver_to([url_a, url_b])
        for i in range(4):
            await user.send(f"m{i}")
        await emu.wait_until(lambda: len(got) == 5, timeout=5)
        assert sorted(n for n, _, _ in got[1:]) == ["a", "a", "b", "b"]
        assert all(s == "s3cret" for _, _, s in got)

        await bot.delete_webhook()
        emu.deliver_to([])
        await user.send("back to polling")
        await asyncio.sleep(0.05)
        updates = await bot.get_updates(timeout=0)
        assert [u.message.text for u in updates if u.message] == ["back to polling"]


async def test_two_aiogram_webhook_instances(emu: TelegramEmulator) -> None:
    """Multi-instance shape: two aiogram webhook apps behind the emulator's round-robin."""
    from aiogram import Dispatcher
    from aiogram.types import Message
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler

    from tests.tg_emulator.fixtures import make_bot

    runners: list[web.AppRunner] = []
    bots: list[Bot] = []
    urls: list[str] = []
    for name in ("one", "two"):
        dp = Dispatcher()

        @dp.message()
        async def reply(message: Message, name: str = name) -> None:
            await message.answer(f"{name}: {message.text}")

        bot = make_bot(emu)
        bots.append(bot)
        app = web.Application()
        SimpleRequestHandler(dp, bot, secret_token="s3cret").register(app, path="/wh")
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        urls.append(f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/wh")  # type: ignore[union-attr]
    try:
        await bots[0].set_webhook(urls[0], secret_token="s3cret")
        emu.deliver_to(urls)
        user = emu.user(3002, "Hugo")
        for i in range(4):
            await user.send(f"m{i}")
        await emu.wait_until(lambda: len(user.chat.bot_messages) == 4, timeout=5)
        texts = sorted(m.text for m in user.chat.bot_messages)
        assert texts == ["one: m0", "one: m2", "two: m1", "two: m3"]
        emu.deliver_to(urls, secret_token="wrong")  # a bad secret is refused by aiogram (401)
        await user.send("intruder?")
        await emu.wait_until(lambda: any(d.status == 401 for d in emu.webhook_deliveries))
    finally:
        emu.deliver_to([])
        for runner in runners:
            await runner.cleanup()
        for bot in bots:
            await bot.session.close()
