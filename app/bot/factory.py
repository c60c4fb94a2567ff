"""Builds the bot: Bot, Dispatcher, routers, middlewares and the services handlers receive as
workflow data. Everything is built fresh per call, so tests build one app per test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.utils.i18n import I18n
from aiogram_dialog import setup_dialogs

from app.access import AccessService
from app.access.budget import StorageBudgetPolicy
from app.bot.dialogs import create_dialogs_router, register_dialog_error_handlers
from app.bot.errors import create_errors_router
from app.bot.flood import install_flood_control
from app.bot.i18n import UserLocaleMiddleware, create_i18n
from app.bot.middlewares.access_gate import AccessGateMiddleware
from app.bot.middlewares.inflight import InFlightUpdates
from app.bot.middlewares.user_context import UserContextMiddleware
from app.bot.routers.access_requests import create_access_requests_router
from app.bot.routers.chat import create_chat_router
from app.bot.routers.commands import create_commands_router
from app.bot.services.chat import ChatService
from app.bot.streaming import make_bot_limiter
from app.bot.telegram import create_bot as create_bot
from app.config import ConfigError as ConfigError
from app.config import Settings
from app.llm import AccessPolicy, LLMProvider
from app.storage import Storage


def create_llm_provider(settings: Settings, storage: Storage) -> LLMProvider:
    return LLMProvider(
        settings.llm,
        access=AccessPolicy(settings.access, is_approved=storage.users.is_approved),
        budget=StorageBudgetPolicy(storage, settings.access),
        usage_sink=storage.usage_sink,
    )


@dataclass
class BotApp:
    settings: Settings
    bot: Bot
    dispatcher: Dispatcher
    storage: Storage
    llm: LLMProvider
    access: AccessService
    chat_service: ChatService
    i18n: I18n
    inflight: InFlightUpdates


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
    i18n = i18n or create_i18n(settings.bot.default_locale)
    llm = llm or create_llm_provider(settings, storage)
    access = AccessService(
        storage=storage,
        settings=settings.access,
        bot=bot,
        i18n=i18n,
        cooldown=timedelta(seconds=settings.bot.request_cooldown_seconds),
    )
    chat_service = ChatService(storage, llm, default_model=settings.llm.default_model)

    dp = Dispatcher(storage=fsm_storage)
    dp.workflow_data.update(
        settings=settings,
        storage=storage,
        llm=llm,
        access=access,
        chat_service=chat_service,
        bot_limiter=make_bot_limiter(settings.bot.global_rate_per_second),
    )
    inflight = InFlightUpdates()
    dp.update.outer_middleware(inflight)
    # Order matters: who is it -> which language -> may they pass.
    dp.update.outer_middleware(UserContextMiddleware(storage, access))
    dp.update.outer_middleware(UserLocaleMiddleware(i18n))
    dp.update.outer_middleware(AccessGateMiddleware())

    dp.include_router(create_errors_router())
    dp.include_router(create_access_requests_router())
    dp.include_router(create_commands_router())
    dp.include_router(create_dialogs_router())
    dp.include_router(create_chat_router())
    register_dialog_error_handlers(dp)
    setup_dialogs(dp)
    return BotApp(settings, bot, dp, storage, llm, access, chat_service, i18n, inflight)
