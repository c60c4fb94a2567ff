"""Runs the bot: long polling (default) or a webhook server, with start-up and a clean stop
that flushes usage records."""

from __future__ import annotations

import asyncio
import logging
import time

from aiogram import Bot, Dispatcher

from app.bot.commands_menu import register_commands
from app.bot.factory import BotApp, create_app, create_bot
from app.bot.liveness import LastContact, heartbeat
from app.config import Settings
from app.healthcheck import HEARTBEAT_FILE
from app.llm import UnknownModel, aclose, warm_up
from app.storage import make_fsm_storage, open_storage

log = logging.getLogger(__name__)

# How long a stopping bot lets answers in progress finish (docker-compose.yml gives the
# container a longer stop_grace_period than this).
SHUTDOWN_GRACE_SECONDS = 25.0


async def build_running_app(settings: Settings) -> BotApp:
    bot = create_bot(settings)  # fails fast on a missing token, before opening storage
    uri = settings.storage.uri.get_secret_value() if settings.storage.uri else None
    storage = await open_storage(uri, db_name=settings.storage.db)
    fsm_storage = make_fsm_storage(uri, db_name=settings.storage.db)
    return create_app(settings, storage=storage, bot=bot, fsm_storage=fsm_storage)


async def on_startup(app: BotApp) -> None:
    # litellm takes seconds to import: do it in a thread, off the first update's path.
    try:
        default_model = app.llm.resolve_model(app.settings.llm.default_model)
    except UnknownModel as exc:
        log.warning("LLM_DEFAULT_MODEL: %s Users can still pick a model with /model.", exc)
        default_model = "openai/gpt-4o-mini"
    asyncio.get_running_loop().run_in_executor(None, warm_up, default_model)
    await register_commands(app.bot, app.i18n, await app.authority.admin_chat_ids())
    if not app.settings.access.is_configured:
        log.warning(
            "access: no ACCESS_ADMINS, ACCESS_FRIENDS or ACCESS_ALLOW_EVERYONE set, so nobody "
            "can chat and nobody can approve requests: set ACCESS_ADMINS to your Telegram id"
        )
    me = await app.bot.me()
    log.info(
        "bot @%s ready: mode=%s storage=%s default model=%s",
        me.username,
        app.settings.telegram.mode,
        app.storage.backend,
        app.settings.llm.default_model,
    )


async def run(settings: Settings) -> None:
    app = await build_running_app(settings)
    contact = LastContact()
    app.bot.session.middleware(contact)
    beating = asyncio.create_task(heartbeat(contact, HEARTBEAT_FILE))
    try:
        if settings.telegram.mode == "webhook":
            from app.bot.webhook import run_webhook

            await run_webhook(app)
        else:
            await run_polling(app.bot, app.dispatcher, app)
    finally:
        beating.cancel()
        if app.inflight.count:
            log.info("stopping: waiting for %s update(s) in progress", app.inflight.count)
            if not await app.inflight.wait_idle(SHUTDOWN_GRACE_SECONDS):
                log.warning("stopping: %s update(s) still running, giving up", app.inflight.count)
        await app.bot.session.close()
        started = time.monotonic()
        await app.storage.close()
        await app.dispatcher.storage.close()
        await aclose()
        log.info(
            "stopped; usage records flushed in %.1f s (written=%s, still buffered=%s)",
            time.monotonic() - started,
            app.storage.usage_sink.written,
            app.storage.usage_sink.buffered,
        )


async def run_polling(bot: Bot, dp: Dispatcher, app: BotApp) -> None:
    await bot.delete_webhook(drop_pending_updates=False)
    await on_startup(app)
    # The session stays open after polling stops: answers still streaming need it.
    await dp.start_polling(bot, handle_signals=True, close_bot_session=False)
