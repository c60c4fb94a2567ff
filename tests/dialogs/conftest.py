"""A Dispatcher with only the dialogs router, aiogram-dialog's test tools, the in-memory
storage and a fake AccessService. Role and user record come from a tiny middleware that
applies the real AccessPolicy, as the lead's UserContextMiddleware does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiogram import Dispatcher, Router
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.types import InlineKeyboardMarkup, Message, TelegramObject, User
from aiogram.utils.i18n import ConstI18nMiddleware, I18n
from aiogram_dialog.api.entities import NewMessage, OldMessage
from aiogram_dialog.test_tools import BotClient, MockMessageManager
from aiogram_dialog.test_tools.bot_client import FakeBot

from app.bot.dialogs import create_dialogs_router, register_dialog_error_handlers, setup_menus
from app.bot.services.models import ModelService
from app.config import Settings
from app.llm.access import AccessPolicy, AccessSettings
from app.llm.catalog import PROVIDER_KEYS
from app.llm.settings import LLMSettings
from app.storage import Storage, open_memory_storage

ADMIN_ID = 100
FRIEND_ID = 200
STRANGER_ID = 999


class RecordingBot(FakeBot):
    """aiogram-dialog's FakeBot, but every API call is recorded instead of failing."""

    def __init__(self) -> None:
        self.calls: list[TelegramMethod[Any]] = []

    async def __call__(
        self, method: TelegramMethod[Any], request_timeout: int | None = None
    ) -> Any:
        self.calls.append(method)
        return True

    def of(self, kind: type) -> list[Any]:
        return [c for c in self.calls if isinstance(c, kind)]

    def answers(self) -> list[AnswerCallbackQuery]:
        return self.of(AnswerCallbackQuery)


class RecordingMessageManager(MockMessageManager):
    """Also records whether each render edited the previous dialog message or sent anew."""

    def __init__(self) -> None:
        super().__init__()
        self.renders: list[tuple[str, int | None]] = []

    async def show_message(
        self, bot: Any, new_message: NewMessage, old_message: OldMessage | None
    ) -> OldMessage:
        self.renders.append(
            (new_message.show_mode.value, old_message.message_id if old_message else None)
        )
        return await super().show_message(bot, new_message, old_message)


@dataclass
class FakeAccess:
    storage: Storage
    decisions: list[tuple[str, int, bool]] = field(default_factory=list)
    revokes: list[tuple[int, int]] = field(default_factory=list)

    async def decide(
        self, request_id: str, admin_id: int, approve: bool, admin_username: str | None = None
    ) -> Any:
        self.decisions.append((request_id, admin_id, approve))
        req = await self.storage.requests.decide(
            request_id, "approved" if approve else "denied", admin_id
        )
        if req is not None and approve:
            await self.storage.users.set_approved(req.user_id, True)
        return ("decided", req)

    async def revoke(self, user_id: int, admin_id: int, admin_username: str | None = None) -> bool:
        self.revokes.append((user_id, admin_id))
        await self.storage.users.set_approved(user_id, False)
        return True


@dataclass
class App:
    dp: Dispatcher
    bot: RecordingBot
    mm: RecordingMessageManager
    storage: Storage
    settings: Settings
    access: FakeAccess
    fallthrough: list[str]

    def client(self, user_id: int) -> BotClient:
        return BotClient(self.dp, user_id=user_id, chat_id=user_id, bot=self.bot)


def message_with(text: str, markup: InlineKeyboardMarkup | None, chat_id: int) -> Message:
    """A Message carrying a keyboard the bot sent outside the dialogs (to click it)."""
    from datetime import datetime

    from aiogram.types import Chat

    return Message(
        message_id=10_000,
        date=datetime.now(),
        chat=Chat(id=chat_id, type="private"),
        text=text,
        reply_markup=markup,
    )


@pytest.fixture
def provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only OpenAI has a key (plus keyless local ollama): availability is deterministic."""
    for keys in PROVIDER_KEYS.values():
        for key in keys:
            monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv("LLM_API_BASE", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


@pytest.fixture
async def app(provider_env: None, tmp_path: Path) -> AsyncIterator[App]:
    storage = open_memory_storage()
    settings = Settings(
        access=AccessSettings(admins=str(ADMIN_ID), friends=f"{FRIEND_ID},@carol"),
        llm=LLMSettings(default_model="gpt-4o-mini", api_base=None),
    )
    access = FakeAccess(storage)
    bot = RecordingBot()
    mm = RecordingMessageManager()
    policy = AccessPolicy(settings.access, storage.users.is_approved)

    async def user_context(
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User = data["event_from_user"]
        data["user_record"] = await storage.users.upsert_seen(
            user.id, user.username, user.first_name
        )
        data["role"] = await policy.role(user.id, user.username)
        return await handler(event, data)

    dp = Dispatcher(storage=MemoryStorage())
    dp.workflow_data.update(
        storage=storage,
        settings=settings,
        access=access,
        models=ModelService(storage, settings.llm),
    )
    dp.update.outer_middleware(user_context)
    # An empty catalog dir: gettext returns the English source strings.
    i18n = I18n(path=tmp_path, default_locale="en", domain="messages")
    dp.update.outer_middleware(ConstI18nMiddleware("en", i18n))
    dp.include_router(create_dialogs_router())

    fallthrough: list[str] = []
    tail = Router(name="chat-stand-in")

    @tail.message()
    async def _chat(message: Message) -> None:
        fallthrough.append(message.text or "")

    dp.include_router(tail)
    register_dialog_error_handlers(dp)
    setup_menus(dp, message_manager=mm)
    yield App(dp, bot, mm, storage, settings, access, fallthrough)
    await storage.close()
