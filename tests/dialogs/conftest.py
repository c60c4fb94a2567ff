"""A Dispatcher with only the dialogs router, aiogram-dialog's test tools, the in-memory
storage and the real access services and user-context middleware. Only the Telegram side
of access decisions (cards, notifications) is a recording stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiogram import Dispatcher, Router
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.methods import AnswerCallbackQuery, TelegramMethod
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.i18n import ConstI18nMiddleware, I18n
from aiogram_dialog.api.entities import NewMessage, OldMessage
from aiogram_dialog.test_tools import BotClient, MockMessageManager
from aiogram_dialog.test_tools.bot_client import FakeBot

from app.access import AccessAuthority, AccessService, DecisionResult, RequestResult
from app.bot.dialogs import create_dialogs_router, register_dialog_error_handlers, setup_menus
from app.bot.middlewares.user_context import UserContextMiddleware
from app.config import Settings
from app.services.models import ModelService
from app.services.schedule.manage import TaskManager
from app.storage import Storage, open_memory_storage
from llmdoor.access import AccessSettings
from llmdoor.models.catalog import PROVIDER_KEYS
from llmdoor.settings import LLMSettings

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


class RecordingAccess(AccessService):
    """The real AccessService, remembering the decisions and revocations it was asked for."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.decisions: list[tuple[str, int, bool]] = []
        self.revokes: list[tuple[int, int]] = []

    async def decide(
        self, request_id: str, admin_id: int, approve: bool, admin_username: str | None = None
    ) -> DecisionResult:
        self.decisions.append((request_id, admin_id, approve))
        return await super().decide(request_id, admin_id, approve, admin_username)

    async def revoke(self, user_id: int, admin_id: int, admin_username: str | None = None) -> bool:
        self.revokes.append((user_id, admin_id))
        return await super().revoke(user_id, admin_id, admin_username)


@dataclass
class RecordingNotifier:
    """Stands in for AccessNotifier (Telegram I/O): records what it would send."""

    announced: list[DecisionResult] = field(default_factory=list)

    async def send_cards(self, result: RequestResult) -> int:
        return len(result.notify)

    async def announce_decision(self, result: DecisionResult) -> None:
        self.announced.append(result)


@dataclass
class App:
    dp: Dispatcher
    bot: RecordingBot
    mm: RecordingMessageManager
    storage: Storage
    settings: Settings
    access: RecordingAccess
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


def conversation_services(settings: Settings, storage: Storage) -> dict[str, Any]:
    """The chat service and the conversation, persona and export services the /chats,
    /persona and /model dialogs use (the LLM is never called by the dialogs)."""
    from app.bot.factory import create_chat_service
    from app.services.conversations.export import ExportService
    from llmdoor import LLMProvider

    chat_service = create_chat_service(settings, storage, LLMProvider(settings.llm))
    return {
        "chat_service": chat_service,
        "conversations": chat_service.conversations,
        "personas": chat_service.personas,
        "exports": ExportService(),
    }


@pytest.fixture
async def app(provider_env: None, tmp_path: Path) -> AsyncIterator[App]:
    storage = open_memory_storage()
    settings = Settings(
        access=AccessSettings(admins=str(ADMIN_ID), friends=f"{FRIEND_ID},@carol"),
        llm=LLMSettings(default_model="gpt-4o-mini", api_base=None),
    )
    authority = AccessAuthority(settings.access, storage)
    access = RecordingAccess(storage=storage, authority=authority)
    bot = RecordingBot()
    mm = RecordingMessageManager()

    dp = Dispatcher(storage=MemoryStorage())
    dp.workflow_data.update(
        storage=storage,
        settings=settings,
        authority=authority,
        access=access,
        access_notifier=RecordingNotifier(),
        models=ModelService(storage, settings.llm),
        task_manager=TaskManager(storage),
        **conversation_services(settings, storage),
    )
    dp.update.outer_middleware(UserContextMiddleware(storage, authority))
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
