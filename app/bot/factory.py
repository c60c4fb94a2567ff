"""Builds the bot: Bot, Dispatcher, routers, middlewares and the services handlers receive as
workflow data. Everything is built fresh per call, so tests build one app per test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.utils.i18n import I18n, gettext

from app.access import AccessAuthority, AccessService, LedgerBudget, RefusalThrottle
from app.bot.access.gate import AccessGateMiddleware
from app.bot.access.notify import AccessNotifier
from app.bot.access.requests import create_access_requests_router
from app.bot.account.commands import create_commands_router
from app.bot.account.preferences import create_preferences_router
from app.bot.account.toggle_presses import create_toggle_presses_router
from app.bot.chat.controls import create_answer_controls_router
from app.bot.chat.opener import AnswerOpener
from app.bot.chat.router import create_chat_router
from app.bot.delivery.flood import install_flood_control
from app.bot.delivery.response_models import install_response_models
from app.bot.delivery.rich_support import RichMessages
from app.bot.delivery.send_budget import SharedSendBudget
from app.bot.delivery.streaming import make_bot_limiter
from app.bot.delivery.telegram import create_bot as create_bot
from app.bot.dialogs import create_dialogs_router, register_dialog_error_handlers, setup_menus
from app.bot.errors import create_errors_router
from app.bot.groups.recording import RecordGroupMessages
from app.bot.groups.router import create_groups_router
from app.bot.i18n import UserLocaleMiddleware, create_i18n
from app.bot.inline.guest import create_guest_router
from app.bot.inline.router import create_inline_router
from app.bot.input.arrivals import MarkTurnStarts
from app.bot.input.edits import create_edits_router
from app.bot.input.router import create_input_router
from app.bot.media.commands import create_media_commands_router
from app.bot.media.router import create_media_router
from app.bot.memory.router import create_memory_router
from app.bot.middlewares.inflight import InFlightUpdates
from app.bot.middlewares.intake import UpdateIntake
from app.bot.middlewares.user_context import UserContextMiddleware
from app.bot.rendering.audience import ErrorAudienceMiddleware
from app.bot.schedule.prompts import TaskRunner
from app.bot.schedule.router import create_schedule_router
from app.bot.workflow import Services
from app.config import ConfigError as ConfigError
from app.config import Settings
from app.services.chat.admission import AnswerGate
from app.services.chat.controls import AnswerControls
from app.services.chat.load import LoopLoad
from app.services.chat.running import RunningAnswers
from app.services.chat.service import ChatService
from app.services.chat.titles import TitleService
from app.services.conversations.export import ExportService
from app.services.conversations.personas import PersonaService
from app.services.conversations.service import ConversationService
from app.services.groups.catchup import CatchupService
from app.services.groups.history import GroupHistory
from app.services.input.collector import TurnCollector
from app.services.media.service import MediaService
from app.services.memory.service import MemoryService
from app.services.memory.summaries import SummaryService
from app.services.models import ModelService
from app.services.schedule.manage import TaskManager
from app.services.schedule.runner import Scheduler
from app.services.schedule.service import ScheduleService, next_run_of
from app.services.spend import SpendService
from app.services.tools import ToolService
from app.storage import Storage
from llmdoor import LLMProvider


def create_llm_provider(
    settings: Settings, storage: Storage, authority: AccessAuthority
) -> LLMProvider:
    return LLMProvider(
        settings.llm,
        access=authority,
        budget=LedgerBudget(storage.spend, pending=storage.pending_spend),
        usage_sink=storage.usage_sink,
        media=settings.media,
    )


def translate(msgid: str) -> str:
    """aiogram's gettext in the locale of the update being served; the msgid itself outside
    an update (background work, scripts)."""
    try:
        return gettext(msgid)
    except LookupError:
        return msgid


def create_chat_service(
    settings: Settings,
    storage: Storage,
    llm: LLMProvider,
    *,
    tools: ToolService | None = None,
    load: LoopLoad | None = None,
    schedule: ScheduleService | None = None,
) -> ChatService:
    """ChatService with its conversations, personas, titles and answer gate (one of each
    per app)."""
    conf = settings.conversations
    # aiogram's gettext follows the locale of the update being served.
    personas = PersonaService(storage, translate=translate, max_per_user=conf.max_personas)
    return ChatService(
        storage,
        llm,
        default_model=settings.llm.default_model,
        personas=personas,
        conversations=ConversationService(
            storage,
            personas,
            max_per_user=conf.max_per_user,
            default_model=settings.llm.default_model,
        ),
        titles=TitleService(
            storage, llm, enabled=conf.auto_title, model=conf.title_model, load=load
        ),
        tools=tools,
        gate=AnswerGate(load, floor=settings.bot.min_parallel_answers),
        memory=MemoryService(storage, settings.memory),
        summaries=SummaryService(
            storage, llm, summary_at=conf.summary_at, model=conf.summary_model, load=load
        )
        if conf.summaries
        else None,
        schedule=schedule,
    )


@dataclass(frozen=True, kw_only=True)
class BotApp:
    settings: Settings
    bot: Bot
    dispatcher: Dispatcher
    storage: Storage
    llm: LLMProvider
    authority: AccessAuthority
    access: AccessService
    access_notifier: AccessNotifier
    chat_service: ChatService
    i18n: I18n
    inflight: InFlightUpdates
    # This instance's share of the bot-wide send budget; started/stopped by app.bot.run.lifecycle.
    send_budget: SharedSendBudget
    intake: UpdateIntake
    # Built-in tools and MCP servers (started/stopped by app.bot.run.lifecycle).
    tools: ToolService | None = None
    # Runs due reminders and scheduled prompts (started/stopped by app.bot.run.lifecycle).
    scheduler: Scheduler | None = None
    # What the scheduler runs (tests drive it with a clock of their own).
    task_runner: TaskRunner | None = None
    # What groups said lately, written behind (flushed by app.bot.run.lifecycle.close).
    group_history: GroupHistory | None = None


def create_app(
    settings: Settings,
    *,
    storage: Storage,
    bot: Bot | None = None,
    llm: LLMProvider | None = None,
    fsm_storage: BaseStorage | None = None,
    i18n: I18n | None = None,
) -> BotApp:
    bot = bot or create_bot(settings)
    install_flood_control(bot)
    install_response_models(bot)
    i18n = i18n or create_i18n(settings.bot.default_locale)
    # One authority on roles, built here and passed to everything that asks.
    authority = AccessAuthority(settings.access, storage)
    llm = llm or create_llm_provider(settings, storage, authority)
    access = AccessService(
        storage=storage,
        authority=authority,
        cooldown=timedelta(seconds=settings.bot.request_cooldown_seconds),
        max_pending=settings.bot.max_pending_requests,
    )
    notifier = AccessNotifier(bot, i18n, storage, access)
    tools = ToolService(settings.tools, storage)
    # One CPU gauge: previews, new model streams and titles yield to it (app/services/chat/load.py).
    load = LoopLoad(settings.bot.busy_lag_ms / 1000)
    schedule = ScheduleService(storage, settings.schedule)
    chat_service = create_chat_service(
        settings, storage, llm, tools=tools, load=load, schedule=schedule
    )
    load.track_backlog(lambda: chat_service.gate.waiting)

    dp = Dispatcher(storage=fsm_storage)
    limiter = make_bot_limiter(settings.bot.global_rate_per_second, load)
    # MongoDB: the instances share BOT_GLOBAL_RATE_PER_SECOND; memory: one, the full budget.
    send_budget = SharedSendBudget(limiter, settings.bot.global_rate_per_second, storage.instances)
    running = RunningAnswers()
    rich_messages = RichMessages(settings.telegram.rich_messages)
    turn_collector = TurnCollector(
        storage.pieces,
        window=settings.bot.merge_window_ms / 1000,
        max_pieces=settings.bot.merge_max_pieces,
    )
    opener = AnswerOpener(settings.bot, limiter, running, chat_service, rich_messages)
    group_history = GroupHistory(
        storage.group_history,
        size=settings.groups.history_size,
        hours=settings.groups.history_hours,
    )
    services = Services(
        settings=settings,
        storage=storage,
        llm=llm,
        authority=authority,
        access=access,
        access_notifier=notifier,
        chat_service=chat_service,
        models=ModelService(storage, settings.llm),
        bot_limiter=limiter,
        running_answers=running,
        answer_controls=AnswerControls(chat_service),
        answer_opener=opener,
        spend=SpendService(storage),
        conversations=chat_service.conversations,
        personas=chat_service.personas,
        exports=ExportService(
            translate=translate, part_bytes=settings.conversations.export_part_bytes
        ),
        tools=tools,
        media=MediaService(storage, llm, settings.media_limits),
        rich_messages=rich_messages,
        turn_collector=turn_collector,
        memory=chat_service.memory or MemoryService(storage, settings.memory),
        schedule=schedule,
        task_manager=TaskManager(storage),
        catchup=CatchupService(group_history),
    )
    dp.workflow_data.update(cast(dict[str, object], services))
    # First: it notes the updates that open a turn in pieces in the order they came.
    dp.update.outer_middleware(MarkTurnStarts(turn_collector))
    inflight = InFlightUpdates()
    dp.update.outer_middleware(inflight)
    # Before any storage call: it orders CPU, and hands places on while updates wait for I/O.
    intake = UpdateIntake()
    dp.update.outer_middleware(intake)
    # Before the access gate: strangers' group messages are part of what was said.
    dp.update.outer_middleware(RecordGroupMessages(group_history))
    # Order matters: who is it -> which language -> may they pass.
    dp.update.outer_middleware(UserContextMiddleware(storage, authority))
    dp.update.outer_middleware(UserLocaleMiddleware(i18n))
    dp.update.outer_middleware(
        AccessGateMiddleware(RefusalThrottle(settings.bot.stranger_refusal_cooldown_seconds))
    )
    # Past the gate: admins read model errors with the setting to fix.
    dp.update.outer_middleware(ErrorAudienceMiddleware(settings.llm))

    dp.include_router(create_errors_router())
    dp.include_router(create_access_requests_router())
    dp.include_router(create_commands_router())
    dp.include_router(create_groups_router())
    # Before the dialogs: an open menu (its dialog is the chat's current context) takes
    # every callback without its own intent id, the answer buttons included.
    dp.include_router(create_answer_controls_router())
    dp.include_router(create_toggle_presses_router())  # before the dialogs, like the above
    dp.include_router(create_dialogs_router())
    dp.include_router(create_memory_router())
    dp.include_router(create_schedule_router())
    dp.include_router(create_preferences_router())
    dp.include_router(create_media_commands_router())
    # Before media and chat: pastes, albums and forwards become one turn there.
    dp.include_router(create_input_router())
    dp.include_router(create_edits_router())
    dp.include_router(create_media_router())
    dp.include_router(create_chat_router())
    # Inline mode and guest mode: answers in chats the bot is not in, as the one who asked.
    dp.include_router(create_inline_router())
    dp.include_router(create_guest_router())
    register_dialog_error_handlers(dp)
    setup_menus(dp)  # aiogram-dialog, reading only real reply-keyboard presses as presses
    runner = TaskRunner(bot, i18n, storage, authority, opener, chat_service.conversations)
    scheduler = Scheduler(
        storage.tasks,
        runner.run,
        tell_missed=runner.tell_missed,
        next_run=next_run_of,
        parallel=settings.schedule.parallel,
        catchup_hours=settings.schedule.catchup_hours,
    )
    return BotApp(
        settings=settings,
        bot=bot,
        dispatcher=dp,
        storage=storage,
        llm=llm,
        authority=authority,
        access=access,
        access_notifier=notifier,
        chat_service=chat_service,
        i18n=i18n,
        inflight=inflight,
        send_budget=send_budget,
        intake=intake,
        tools=tools,
        scheduler=scheduler,
        task_runner=runner,
        group_history=group_history,
    )
