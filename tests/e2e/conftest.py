"""End-to-end harness: the real bot (create_app) long-polls the Telegram emulator while
litellm talks to the fake OpenAI server, both over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from app.bot.factory import BotApp, create_app
from app.config import BotSettings, Settings, StorageSettings, TelegramSettings, WebhookSettings
from app.services.conversations.settings import ConversationSettings
from app.storage import Storage, open_memory_storage
from llmdoor import AccessSettings, LLMSettings
from tests.fakes.openai_server import FakeOpenAI
from tests.tg_emulator.fixtures import make_bot, run_polling, running_emulator
from tests.tg_emulator.server import TelegramEmulator

ADMIN_ID = 100
FRIEND_ID = 200
STRANGER_ID = 300
FAKE_MODEL = "openai/fake-model"


@pytest.fixture
def fake_llm(fake_llm_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    fake_llm_server.reset()
    yield fake_llm_server
    fake_llm_server.reset()


@pytest_asyncio.fixture
async def tg() -> AsyncIterator[TelegramEmulator]:
    async with running_emulator() as emu:
        yield emu


def make_settings(tg: TelegramEmulator, fake_llm: FakeOpenAI, **overrides: Any) -> Settings:
    llm_timeout = overrides.pop("llm_timeout", 5)
    access = overrides.pop("access", None) or AccessSettings(
        admins=str(ADMIN_ID), friends=f"{FRIEND_ID},@pal"
    )
    llm = overrides.pop("llm", None) or LLMSettings(
        default_model=FAKE_MODEL,
        api_base=fake_llm.base_url,
        api_key="sk-test",
        # The fake stands in for a vendor here; gateway discovery has tests of its own.
        gateway_discovery=False,
        max_retries=1,
        backoff_initial=0.001,
        backoff_max=0.005,
        retry_after_cap=0.5,
        timeout=llm_timeout,
    )
    bot = overrides.pop("bot", None) or BotSettings(
        draft_interval=0.02, edit_interval=0.05, request_cooldown_seconds=3600
    )
    # Titles off unless a test asks: their background model call would otherwise interleave
    # with the calls other tests look at (fake.chat_requests[-1]).
    # Summaries too: their background call would interleave the same way.
    conversations = overrides.pop("conversations", None) or ConversationSettings(
        auto_title=False, summaries=False
    )
    # Today's messages unless a test asks for rich ones (tests/e2e/test_rich_answers.py):
    # the suite checks the path every Bot API server has, and the fallback to it.
    rich = overrides.pop("rich_messages", "off")
    return Settings(
        telegram=TelegramSettings(bot_token=tg.token, api_base=tg.base_url, rich_messages=rich),
        conversations=conversations,
        webhook=WebhookSettings(),
        storage=StorageSettings(uri=None),
        access=access,
        llm=llm,
        bot=bot,
        **overrides,
    )


@dataclass
class Running:
    app: BotApp
    tg: TelegramEmulator
    fake_llm: FakeOpenAI

    @property
    def storage(self) -> Storage:
        return self.app.storage


StartBot = Callable[..., contextlib.AbstractAsyncContextManager[Running]]


@pytest.fixture
def start_bot(tg: TelegramEmulator, fake_llm: FakeOpenAI) -> StartBot:
    """`async with start_bot(storage=..., **settings_overrides) as running:` runs a fresh bot."""

    @contextlib.asynccontextmanager
    async def start(storage: Storage | None = None, **overrides: Any) -> AsyncIterator[Running]:
        settings = make_settings(tg, fake_llm, **overrides)
        storage = storage or open_memory_storage()
        app = create_app(settings, storage=storage, bot=make_bot(tg))
        try:
            async with run_polling(app.dispatcher, app.bot, tg):
                yield Running(app, tg, fake_llm)
        finally:
            await storage.close()

    return start


@pytest_asyncio.fixture
async def running(start_bot: StartBot) -> AsyncIterator[Running]:
    async with start_bot() as r:
        yield r


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Until ``check()`` holds (10 s at most): for usage records, which follow their
    answers (the end of a model call is read after the final went out)."""
    for _ in range(500):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within 10 s: {what}")


async def usage_recorded(storage: Storage, count: int) -> None:
    """Until ``count`` usage records are stored (10 s at most). A call's record follows its
    answer: the end of the call (the vendor's usage) is read after the final went out."""
    for _ in range(500):
        if (await storage.usage.totals()).requests >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {count} usage records after 10 s")
