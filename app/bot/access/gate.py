"""The access gate: one outer middleware on every update type. Strangers never reach a
handler, except for pressing their own Request access button."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import (
    CallbackQuery,
    ChosenInlineResult,
    InlineQuery,
    Message,
    TelegramObject,
    Update,
)
from aiogram.utils.i18n import gettext as _

from app.access import RefusalThrottle
from app.bot.access.keyboards import RequestAccessCallback, request_access_keyboard
from app.bot.chat.threads import is_private
from app.bot.inline.refusals import (
    refuse_chosen_result,
    refuse_guest_message,
    refuse_inline_query,
    replace_placeholder,
)
from llmdoor import Role

log = logging.getLogger(__name__)

_REQUEST_PREFIX = RequestAccessCallback.__prefix__ + RequestAccessCallback.__separator__


def refusal_text() -> str:
    return _(
        "Hi! This is a private bot: only people its owner trusts can use it.\n"
        "Press the button below to ask the admins for access."
    )


class AccessGateMiddleware(BaseMiddleware):
    def __init__(self, throttle: RefusalThrottle, outages: RefusalThrottle | None = None) -> None:
        self._throttle = throttle
        # Kept apart: a user refused as a stranger before an admin approved them must still
        # hear that the database is down, not be dropped as a stranger on cooldown.
        self._outages = outages or RefusalThrottle(throttle.cooldown_seconds)
        # Kept apart too: the guest refusal's button opens the private chat, where the
        # stranger's /start must get the Request access button, not a cooldown's silence.
        self._guests = RefusalThrottle(throttle.cooldown_seconds)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if data.get("role", Role.STRANGER) is not Role.STRANGER:
            return await handler(event, data)
        inner = event.event if isinstance(event, Update) else event
        edited = isinstance(event, Update) and event.message is None
        if data.get("user_record_transient"):
            # The database is down, so an approval given there can't be checked: don't
            # refuse (and invite a request that can't be stored either), ask to retry.
            await _unavailable(inner, edited=edited, throttle=self._outages)
            return None
        if isinstance(inner, CallbackQuery) and _is_request_button(inner.data):
            return await handler(event, data)
        if isinstance(inner, Message) and inner.guest_query_id is not None:
            await _refuse_guest(inner, self._guests)
            return None
        await _refuse(inner, edited=edited, throttle=self._throttle)
        return None


def _is_request_button(data: str | None) -> bool:
    if not data:
        return False
    return data == RequestAccessCallback.__prefix__ or data.startswith(_REQUEST_PREFIX)


async def _refuse_guest(message: Message, throttle: RefusalThrottle) -> None:
    # Guest mode: the bot was summoned into a chat it is not a member of (see
    # app.bot.inline.refusals for why it answers at all, and only once per cooldown).
    if message.from_user is not None and throttle.allow(message.from_user.id):
        log.info("refused a stranger's guest message: user id %s", message.from_user.id)
        await refuse_guest_message(message)


async def _refuse(event: object, *, edited: bool, throttle: RefusalThrottle) -> None:
    if isinstance(event, Message):
        # In groups a stranger is simply not answered: refusing there would spam the group;
        # an edit was already refused as the original message. A stranger who keeps
        # writing gets one refusal per cooldown; the rest are dropped without a Telegram
        # call (refusals that Telegram would throttle hurt the bot's standing).
        if (
            is_private(event.chat)
            and not edited
            and event.from_user is not None
            and throttle.allow(event.from_user.id)
        ):
            # The id an owner who mistyped ACCESS_ADMINS or ACCESS_FRIENDS needs.
            log.info("refused a stranger: user id %s", event.from_user.id)
            await event.answer(refusal_text(), reply_markup=request_access_keyboard())
    elif isinstance(event, CallbackQuery):
        await event.answer(_("You don't have access to this bot yet."), show_alert=True)
    elif isinstance(event, InlineQuery):
        await refuse_inline_query(event)
    elif isinstance(event, ChosenInlineResult):
        # A friend's result, cached by Telegram, chosen after their access ended.
        await refuse_chosen_result(event)


def unavailable_text() -> str:
    return _(
        "Sorry, I can't check your access right now: my database is unavailable. "
        "Please try again in a few minutes."
    )


async def _unavailable(event: object, *, edited: bool, throttle: RefusalThrottle) -> None:
    if isinstance(event, Message) and event.guest_query_id is not None:
        return  # not worth a post into somebody else's chat: they may summon the bot again
    if isinstance(event, Message):
        if (
            is_private(event.chat)
            and not edited
            and event.from_user is not None
            and throttle.allow(event.from_user.id)
        ):
            await event.answer(unavailable_text())
    elif isinstance(event, CallbackQuery):
        await event.answer(unavailable_text(), show_alert=True)
    elif isinstance(event, InlineQuery):
        await event.answer([], cache_time=0, is_personal=True)
    elif isinstance(event, ChosenInlineResult):
        await replace_placeholder(event, unavailable_text())
