"""Ready means ready: the bot takes no update (polling) and its webhook server and
/healthz do not answer before the provider's warm-up has ended; the log says how long
the warm-up took."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

import aiohttp
import pytest

from app.bot.factory import create_app
from app.bot.run import lifecycle
from app.bot.run.runner import run_polling
from app.bot.run.webhook import run_webhook
from app.config import WebhookSettings
from app.storage import open_memory_storage
from tests.e2e.conftest import FRIEND_ID, make_settings
from tests.fakes.openai_server import FakeOpenAI
from tests.tg_emulator.fixtures import make_bot
from tests.tg_emulator.server import TelegramEmulator

HELD_SECONDS = 1.5


@pytest.fixture
def held_warm_up(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The warm-up blocks (in its thread) until the test sets the event."""
    release = threading.Event()

    def slow_warm_up(model: str = "") -> None:
        release.wait(30)

    monkeypatch.setattr(lifecycle, "warm_up", slow_warm_up)
    return release


async def test_polling_starts_only_after_the_warm_up(
    tg: TelegramEmulator,
    fake_llm: FakeOpenAI,
    held_warm_up: threading.Event,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="app.bot.run.lifecycle")
    app = create_app(make_settings(tg, fake_llm), storage=open_memory_storage(), bot=make_bot(tg))
    friend = tg.user(FRIEND_ID, "Fred")
    polling = asyncio.create_task(run_polling(app))
    try:
        await friend.send("are you there?")  # waits at Telegram while the bot warms up
        await asyncio.sleep(HELD_SECONDS)
        assert not polling.done()
        assert tg.calls("getUpdates") == []  # no update taken
        assert friend.chat.bot_messages == []
        assert "ready" not in caplog.text
        held_warm_up.set()
        answer = await tg.wait_for_message(friend.id, timeout=20)
        assert answer.text == "echo: are you there?"
        assert "provider warm-up took" in caplog.text
        lines = caplog.text.splitlines()
        warm = next(i for i, line in enumerate(lines) if "provider warm-up took" in line)
        ready = next(i for i, line in enumerate(lines) if " ready: mode=" in line)
        assert warm < ready
    finally:
        held_warm_up.set()
        await app.dispatcher.stop_polling()
        await asyncio.wait_for(polling, 20)
        await app.bot.session.close()
        await app.storage.close()


async def test_healthz_answers_only_after_the_warm_up(
    tg: TelegramEmulator, fake_llm: FakeOpenAI, held_warm_up: threading.Event
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    webhook = WebhookSettings(
        url=f"http://127.0.0.1:{port}", secret="s3cret-webhook-token", host="127.0.0.1", port=port
    )
    settings = make_settings(tg, fake_llm).model_copy(update={"webhook": webhook})
    app = create_app(settings, storage=open_memory_storage(), bot=make_bot(tg))
    stop = asyncio.Event()
    serving = asyncio.create_task(run_webhook(app, stop))
    healthz = f"http://127.0.0.1:{port}/healthz"
    try:
        async with aiohttp.ClientSession() as http:
            await asyncio.sleep(HELD_SECONDS)
            with pytest.raises(aiohttp.ClientConnectionError):
                await http.get(healthz)
            assert tg.calls("setWebhook") == []  # Telegram not pointed at it yet
            held_warm_up.set()
            await tg.wait_until(lambda: tg.calls("setWebhook") or serving.done())
            async with http.get(healthz) as response:
                assert response.status == 200
    finally:
        held_warm_up.set()
        stop.set()
        await asyncio.wait_for(serving, 20)
        await app.storage.close()
