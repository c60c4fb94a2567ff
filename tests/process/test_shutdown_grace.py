"""Issue 12, "Lifecycle": the grace a stopping bot gives the answers in progress is the
setting BOT_SHUTDOWN_GRACE_SECONDS (default 25 s), in polling and webhook mode alike."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.bot.factory import create_app
from app.bot.run.webhook import run_webhook
from app.config import BotSettings, WebhookSettings
from app.storage import open_memory_storage
from tests.e2e.conftest import FRIEND_ID, make_settings
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.process.harness import start
from tests.tg_emulator.fixtures import make_bot
from tests.tg_emulator.server import TelegramEmulator

GIVING_UP = "still running after 1.0 s (BOT_SHUTDOWN_GRACE_SECONDS), giving up"


def test_grace_defaults_to_25_seconds() -> None:
    assert BotSettings().shutdown_grace_seconds == 25.0


async def test_polling_stop_gives_up_after_the_grace_setting(
    tg: TelegramEmulator, fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    fake_llm.script(Reply(text="far too late", delay=120))
    app = await start(
        tmp_path,
        TELEGRAM_API_BASE=tg.base_url,
        MONGODB_URI="",  # the in-memory store: this is about the process, not storage
        ACCESS_FRIENDS=str(FRIEND_ID),
        LLM_DEFAULT_MODEL="openai/fake-model",
        LLM_API_BASE=fake_llm.base_url,
        BOT_SHUTDOWN_GRACE_SECONDS="1",
        LOG_LEVEL="INFO",
    )
    try:
        await app.wait_for_log("ready")
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("take all the time you need")
        await tg.wait_until(lambda: fake_llm.chat_requests, timeout=30)
        # The bot's own process takes its start-up heap out of the collector's reach.
        await app.wait_for_log("start-up objects frozen")
    finally:
        stopping = time.monotonic()
        result = await app.stop()
    elapsed = time.monotonic() - stopping
    assert GIVING_UP in result.output, result.output
    assert "usage records flushed" in result.output, result.output
    # Generous bound: the default grace alone would take 25 s.
    assert elapsed < 20, f"stopped after {elapsed:.1f} s:\n{result.output}"
    assert not [m.text for m in friend.chat.bot_messages if m.text == "far too late"]


async def test_webhook_stop_gives_up_after_the_grace_setting(
    tg: TelegramEmulator, fake_llm: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = make_settings(tg, fake_llm, bot=BotSettings(shutdown_grace_seconds=1.0))
    settings = settings.model_copy(
        update={
            "webhook": WebhookSettings(
                url=f"http://127.0.0.1:{port}",
                secret=SecretStr("grace"),
                host="127.0.0.1",
                port=port,
            )
        }
    )
    storage = open_memory_storage()
    app = create_app(settings, storage=storage, bot=make_bot(tg))
    stop = asyncio.Event()
    before = asyncio.all_tasks()
    task = asyncio.create_task(run_webhook(app, stop))
    caplog.set_level(logging.INFO, logger="app.bot.run.lifecycle")
    try:
        await tg.wait_until(lambda: tg.calls("setWebhook") or task.done())
        assert not task.done()
        fake_llm.script(Reply(text="far too late", delay=120))
        await tg.user(FRIEND_ID, "Fred").send("take all the time you need")
        await tg.wait_until(lambda: fake_llm.chat_requests)
        stopping = time.monotonic()
        stop.set()
        await asyncio.wait_for(task, 60)
        elapsed = time.monotonic() - stopping
        assert GIVING_UP in caplog.text
        assert elapsed < 20, f"stopped after {elapsed:.1f} s"
        # The update was cancelled, not abandoned: its call is on the books as cancelled.
        await storage.usage_sink.flush(timeout=5)
        errors = await storage.usage.recent_errors()
        assert [e.error_kind for e in errors] == ["cancelled"]
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 20)
        # The update the stop gave up on still waits for the model: end it here, as the
        # process's exit would, and close the session it may have reopened.
        leftovers = asyncio.all_tasks() - before - {asyncio.current_task()}
        for leftover in leftovers:
            leftover.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
        await app.bot.session.close()
        await storage.close()
