"""What ``create_app`` puts into the dispatcher's workflow data, typed, and what every
update adds to it.

Handlers and dialog getters declare the entries they use as keyword arguments with these
names and types; button handlers of dialogs, which aiogram-dialog calls with the manager
only, read them through ``services(manager)`` (and ``update_data(manager)`` for the
entries of the update: its bot, user, chat and the user's record, Caller and role)."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict, cast

from aiogram_dialog import DialogManager
from aiolimiter import AsyncLimiter

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import Chat, User

    from app.access import AccessAuthority, AccessService
    from app.bot.access.notify import AccessNotifier
    from app.bot.chat.opener import AnswerOpener
    from app.bot.delivery.rich_support import RichMessages
    from app.config import Settings
    from app.services.chat.controls import AnswerControls
    from app.services.chat.running import RunningAnswers
    from app.services.chat.service import ChatService
    from app.services.conversations.export import ExportService
    from app.services.conversations.personas import PersonaService
    from app.services.conversations.service import ConversationService
    from app.services.groups.catchup import CatchupService
    from app.services.input.collector import TurnCollector
    from app.services.media.service import MediaService
    from app.services.memory.service import MemoryService
    from app.services.models import ModelService
    from app.services.schedule.manage import TaskManager
    from app.services.schedule.service import ScheduleService
    from app.services.spend import SpendService
    from app.services.tools import ToolService
    from app.storage import Storage, UserRecord
    from llmdoor import Caller, LLMProvider, Role


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
    answer_opener: AnswerOpener
    spend: SpendService
    conversations: ConversationService
    personas: PersonaService
    exports: ExportService
    tools: ToolService
    media: MediaService
    rich_messages: RichMessages
    turn_collector: TurnCollector
    memory: MemoryService
    schedule: ScheduleService
    task_manager: TaskManager
    catchup: CatchupService


def services(manager: DialogManager) -> Services:
    return cast(Services, manager.middleware_data)


class UpdateData(Services):
    """The workflow data of one update: the services, the bot and the update's user and
    chat (aiogram), and the user's record, Caller and role (UserContextMiddleware)."""

    bot: Bot
    event_from_user: User
    event_chat: Chat
    user_record: UserRecord
    caller: Caller
    role: Role


def update_data(manager: DialogManager) -> UpdateData:
    return cast(UpdateData, manager.middleware_data)
