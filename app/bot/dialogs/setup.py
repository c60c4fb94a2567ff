"""``setup_menus``: aiogram-dialog's ``setup_dialogs`` with texts kept as texts.

aiogram-dialog encodes a reply-keyboard button's callback data as a run of invisible
characters (soft hyphen, ZWJ, ZWNJ, word joiner, U+2061..U+2064, U+1D173..U+1D17A) at the
end of the button text. Its message middleware, installed on the dispatcher and so in
front of every router, decodes *any* message ending in two or more of them as a button
press and turns it into a callback query. Persian and Arabic texts really end like this
(ZWNJ, ZWJ); such a text then never reached the chat handler: it became a callback nobody
handles, or an undecodable one ("Something went wrong").

A real press always decodes to "<intent id><CB_SEP><widget data>", because aiogram-dialog
prefixes every button of a dialog with its intent id. So the guard lets aiogram-dialog see
the text only when its tail is such a well-formed press; otherwise the middleware runs on
a copy without text (it still loads the dialog context) and the handlers get the message
as the user wrote it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Router
from aiogram.types import Message, TelegramObject
from aiogram_dialog import BgManagerFactory, setup_dialogs
from aiogram_dialog.context.intent_middleware import IntentMiddlewareFactory
from aiogram_dialog.utils import REPLY_CALLBACK_SYMBOLS, decode_reply_callback, remove_intent_id

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
Middleware = Callable[[Handler, TelegramObject, dict[str, Any]], Awaitable[Any]]


def is_reply_keyboard_press(text: str | None) -> bool:
    """Whether ``text`` ends in an encoded dialog button (and is not just a text that ends
    in invisible characters)."""
    if not text:
        return False
    tail = text[len(text.rstrip(REPLY_CALLBACK_SYMBOLS)) :]
    if len(tail) < 2 or len(tail) % 2:
        return False
    try:
        data = decode_reply_callback(tail)
    except ValueError:  # UnicodeDecodeError included: not bytes any button encodes
        return False
    intent_id, _ = remove_intent_id(data)
    return bool(intent_id)


def guard_reply_presses(process_message: Middleware) -> Middleware:
    """Wrap aiogram-dialog's message middleware so that only real presses are decoded."""

    async def guarded(handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Message) or not event.text or is_reply_keyboard_press(event.text):
            return await process_message(handler, event, data)

        async def with_original(_masked: TelegramObject, data: dict[str, Any]) -> Any:
            return await handler(event, data)

        # model_copy keeps the bot binding; only the decoder looks at the text.
        masked = event.model_copy(update={"text": None})
        return await process_message(with_original, masked, data)

    return guarded


def setup_menus(router: Router, **kwargs: Any) -> BgManagerFactory:
    """``setup_dialogs(router, **kwargs)``, then the guard in place of the message decoder
    (same position in the chain: the context unlocker after it relies on its data)."""
    factory = setup_dialogs(router, **kwargs)
    guarded = 0
    for observer in (router.message, router.business_message):
        manager = observer.outer_middleware
        chain = list(manager)
        for middleware in chain:
            manager.unregister(middleware)
        for middleware in chain:
            if getattr(middleware, "__func__", None) is IntentMiddlewareFactory.process_message:
                middleware = guard_reply_presses(middleware)
                guarded += 1
            manager.register(middleware)
    if guarded != 2:  # an aiogram-dialog upgrade moved the decoder: fail at start-up
        raise RuntimeError("aiogram-dialog's message middleware was not found to guard")
    return factory


__all__ = ["guard_reply_presses", "is_reply_keyboard_press", "setup_menus"]
