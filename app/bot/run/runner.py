"""Runs the bot: long polling (default) or a webhook server, inside the lifecycle that
starts it up and drains and closes it on the way out."""

from __future__ import annotations

from app.bot.factory import BotApp
from app.bot.run.lifecycle import on_startup, running
from app.bot.run.webhook import run_webhook
from app.config import Settings


async def run(settings: Settings) -> None:
    async with running(settings) as app:
        # This process is the bot's own: its start-up heap can be frozen (app.bot.run.heap).
        if settings.telegram.mode == "webhook":
            await run_webhook(app, freeze_heap=True)
        else:
            await run_polling(app, freeze_heap=True)


async def run_polling(app: BotApp, *, freeze_heap: bool = False) -> None:
    """Serve by long polling until SIGINT/SIGTERM (aiogram handles the signals)."""
    await app.bot.delete_webhook(drop_pending_updates=False)
    await on_startup(app, freeze_heap=freeze_heap)
    # The session stays open after polling stops: answers still streaming need it.
    await app.dispatcher.start_polling(app.bot, handle_signals=True, close_bot_session=False)
