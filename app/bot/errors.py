"""Last line of defence: an unexpected error in a handler is logged and the user gets a short
apology instead of silence; the bot keeps serving everyone else. A database outage that
reached this far is no bug: the user is told the database is unavailable, and the log says
so at WARNING."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import I18nMiddleware
from aiogram.utils.i18n import gettext as _

from app.storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

FALLBACK_TEXT = "⚠️ Something went wrong on my side. Please try again."
OUTAGE_FALLBACK_TEXT = "⚠️ The database is unavailable right now. Try again later."


def _text(outage: bool) -> str:
    if outage:
        return _("⚠️ The database is unavailable right now. Try again later.")
    return _("⚠️ Something went wrong on my side. Please try again.")


def create_errors_router() -> Router:
    router = Router(name="errors")

    @router.errors()
    async def on_error(event: ErrorEvent, **data: Any) -> bool:
        update = event.update
        outage = isinstance(event.exception, StorageUnavailable)
        if outage:
            log.warning(
                "database unavailable while handling update %s (%s); told the user",
                update.update_id,
                event.exception,
            )
        else:
            log.error(
                "unhandled %s while handling update %s",
                type(event.exception).__name__,
                update.update_id,
                exc_info=event.exception,
            )
        # Error handlers run outside the i18n middleware's context: re-enter it.
        middleware: I18nMiddleware | None = data.get("i18n_middleware")
        if middleware is None:
            text = OUTAGE_FALLBACK_TEXT if outage else FALLBACK_TEXT
        else:
            locale = await middleware.get_locale(update, data)
            with middleware.i18n.context(), middleware.i18n.use_locale(locale):
                text = _text(outage)
        try:
            if update.message is not None:
                await update.message.answer(text)
            elif update.callback_query is not None:
                await update.callback_query.answer(text, show_alert=True)
        except TelegramAPIError:
            pass
        return True

    return router
