"""What ``create_app`` puts into the dispatcher's workflow data, typed.

Handlers and dialog getters declare the entries they use as keyword arguments with these
names and types; button handlers of dialogs, which aiogram-dialog calls with the manager
only, read them through ``services(manager)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, cast

from aiogram_dialog import DialogManager
from aiolimiter import AsyncLimiter

if TYPE_CHECKING:
    from app.access import AccessAuthority, AccessService
    from app.bot.notify.access import AccessNotifier
    from app.bot.services.answer_controls import AnswerControls
    from app.bot.services.chat import ChatService
    from app.bot.services.conversations import ConversationService
    from app.bot.services.export import ExportService
    from app.bot.services.media import MediaService
    from app.bot.services.models import ModelService
    from app.bot.services.personas import PersonaService
    from app.bot.services.running import RunningAnswers
    from app.bot.services.spend import SpendService
    from app.bot.services.tools import ToolService
    from app.config import Settings
    from app.llm import LLMProvider
    from app.storage import Storage


class Services(TypedDict):
    settings: Settings
    storage: Storage
    llm: LLMProvider
    authority: AccessAuthority
    access: AccessService
    access_notifier: AccessNotifier
    chat_service: ChatService
    models: ModelService
    bot_limiter: AsyncLimiter
    running_answers: RunningAnswers
    answer_controls: AnswerControls
    spend: SpendService
    conversations: ConversationService
    personas: PersonaService
    exports: ExportService
    tools: ToolService
    media: MediaService


def services(manager: DialogManager) -> Services:
    return cast(Services, manager.middleware_data)
