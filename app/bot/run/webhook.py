"""Webhook mode: aiogram's aiohttp handler behind a load balancer, Telegram's secret header
verified, plus /healthz. With MongoDB configured every instance shares FSM/dialog state,
approvals, conversations and usage, so any instance can take any update."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from app.bot.factory import BotApp
from app.bot.run.lifecycle import drain, on_startup
from app.config import ConfigError, webhook_secret_problems, webhook_url_problems

log = logging.getLogger(__name__)


def create_webhook_app(app: BotApp) -> web.Application:
    settings = app.settings.webhook
    if problems := webhook_secret_problems(settings.secret):
        raise ConfigError("\n".join(problems))
    assert settings.secret is not None  # checked just above
    web_app = web.Application()
    SimpleRequestHandler(
        dispatcher=app.dispatcher,
        bot=app.bot,
        secret_token=settings.secret.get_secret_value(),
        handle_in_background=True,
    ).register(web_app, path=settings.path)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True, "storage": app.storage.backend})

    web_app.router.add_get("/healthz", healthz)
    setup_application(web_app, app.dispatcher, bot=app.bot)
    return web_app


async def register_webhook(app: BotApp) -> None:
    settings = app.settings.webhook
    if problems := webhook_url_problems(settings.url):
        raise ConfigError("\n".join(problems))
    assert settings.url is not None  # checked just above
    secret = settings.secret.get_secret_value() if settings.secret else None
    await app.bot.set_webhook(
        settings.url.rstrip("/") + settings.path,
        secret_token=secret,
        allowed_updates=app.dispatcher.resolve_used_update_types(),
    )


async def run_webhook(
    app: BotApp, stop: asyncio.Event | None = None, *, freeze_heap: bool = False
) -> None:
    """Serve until SIGINT/SIGTERM (or until ``stop`` is set, for tests and embedding)."""
    web_app = create_webhook_app(app)
    if problems := webhook_url_problems(app.settings.webhook.url):
        raise ConfigError("\n".join(problems))  # before the warm-up: a typo fails fast
    # Ready means ready: the server (and its /healthz) comes up only after the warm-up,
    # and Telegram is pointed at it only once it listens.
    await on_startup(app, freeze_heap=freeze_heap)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, app.settings.webhook.host, app.settings.webhook.port)
    await site.start()
    registered = False
    try:
        await register_webhook(app)
        registered = True
    finally:
        if not registered:
            await runner.cleanup()
    log.info(
        "webhook server listening on %s:%s", app.settings.webhook.host, app.settings.webhook.port
    )
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        # Updates are handled in background tasks that aiohttp does not wait for, and its
        # cleanup closes the bot's session: stop taking updates first (Telegram retries
        # them, another instance takes them), let the answers in progress finish and
        # record their usage, and only then shut the app down.
        await site.stop()
        await drain(app)
        await runner.cleanup()
        await app.bot.session.close()
