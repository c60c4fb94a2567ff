"""The bot the playground runs: create_app with the emulator as Telegram, memory storage,
the playground's three users, and a real provider when one is configured."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

from pydantic import SecretStr

from app.bot.factory import BotApp, create_app
from app.bot.run.lifecycle import on_startup
from app.config import Settings, StorageSettings, TelegramSettings, WebhookSettings
from app.storage import open_memory_storage
from llmdoor import AccessSettings, LLMSettings, is_available, resolve_shortcut
from playground.fake_model import PlaygroundFake
from tests.tg_emulator.fixtures import make_bot, run_polling, running_emulator
from tests.tg_emulator.server import TelegramEmulator

log = logging.getLogger(__name__)

USERS = {
    "admin": (100, "Ada"),  # ACCESS_ADMINS
    "friend": (200, "Fred"),  # ACCESS_FRIENDS
    "stranger": (300, "Sam"),  # nobody: sees the refusal and the Request access button
}


@dataclass
class Playground:
    tg: TelegramEmulator
    app: BotApp
    fake: PlaygroundFake | None  # None: a real provider answers


def real_provider(llm: LLMSettings) -> bool:
    """Whether .env (or the environment) configures a provider for the default model."""
    if llm.api_base:
        return True
    model = resolve_shortcut(llm.default_model, llm.shortcuts)
    return is_available(model, os.environ)


@contextlib.asynccontextmanager
async def running_playground(*, force_fake: bool = False) -> AsyncIterator[Playground]:
    llm = LLMSettings()
    fake = None if real_provider(llm) and not force_fake else PlaygroundFake()
    if fake is not None:
        fake.start()
        llm = LLMSettings(
            default_model="openai/fake-model",
            api_base=fake.base_url,
            api_key=SecretStr("sk-playground-fake"),
            gateway_discovery=False,
            max_retries=0,
        )
    try:
        async with running_emulator(check_errors=False) as tg:
            for id_, name in USERS.values():
                tg.user(id_, name)
            settings = Settings(
                telegram=TelegramSettings(bot_token=SecretStr(tg.token), api_base=tg.base_url),
                webhook=WebhookSettings(),
                storage=StorageSettings(uri=None),
                access=AccessSettings(
                    admins=str(USERS["admin"][0]), friends=str(USERS["friend"][0])
                ),
                llm=llm,
            )
            storage = open_memory_storage()
            app = create_app(settings, storage=storage, bot=make_bot(tg))
            await on_startup(app)  # the warm-up, the command menus
            try:
                async with run_polling(app.dispatcher, app.bot, tg):
                    log.info("playground: %s model", "the fake" if fake else "a real")
                    yield Playground(tg, app, fake)
            finally:
                await storage.close()
    finally:
        if fake is not None:
            fake.stop()
