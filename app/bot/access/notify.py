"""Sends what the access service decided: admin cards, their updates, the user's answer.

Each message is written in its recipient's language, not the language of whoever caused it.
"""

from __future__ import annotations

import html
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from app.access import AccessService, DecisionResult, RequestResult
from app.bot.access.keyboards import admin_card_keyboard, admin_card_text, decided_card_text
from app.storage import AccessRequest, Storage
from app.storage.errors import StorageUnavailable

log = logging.getLogger(__name__)


class AccessNotifier:
    def __init__(self, bot: Bot, i18n: I18n, storage: Storage, access: AccessService) -> None:
        self._bot = bot
        self._i18n = i18n
        self._storage = storage
        self._access = access

    async def send_cards(self, result: RequestResult) -> int:
        """Send the request's card to every admin in ``result.notify``; returns how many
        arrived. An admin who blocked the bot must not stop the others."""
        request = result.request
        if request is None:
            return 0
        sent = 0
        for chat_id in result.notify:
            with self._i18n.use_locale(await self._locale_of(chat_id)):
                text = admin_card_text(request)
                markup = admin_card_keyboard(request.id)
            try:
                message = await self._bot.send_message(
                    chat_id, text, reply_markup=markup, parse_mode="HTML"
                )
            except TelegramAPIError as exc:
                log.warning("access: cannot notify admin %s: %s", chat_id, exc)
                continue
            await self._access.card_sent(request.id, chat_id, message.message_id)
            sent += 1
        return sent

    async def announce_decision(self, result: DecisionResult) -> None:
        """Edit every admin's card to show the verdict and tell the user."""
        request = result.request
        if request is None:
            return
        admin_name = html.escape(await self._access.display_name(request.decided_by))
        for card in result.cards:
            with self._i18n.use_locale(await self._locale_of(card.chat_id)):
                text = decided_card_text(request, admin_name)
            try:
                await self._bot.edit_message_text(
                    text=text,
                    chat_id=card.chat_id,
                    message_id=card.message_id,
                    reply_markup=None,
                    parse_mode="HTML",
                )
            except TelegramAPIError as exc:  # deleted card, blocked bot: the decision stands
                log.info("access: card %s/%s not updated: %s", card.chat_id, card.message_id, exc)
        if result.tell_user is not None:
            await self._tell_user(request)

    async def _tell_user(self, request: AccessRequest) -> None:
        with self._i18n.use_locale(await self._locale_of(request.user_id)):
            if request.status == "approved":
                text = _("✅ Your access was approved. Just write me a message to start.")
            else:
                text = _("Sorry, your access request was declined.")
        try:
            await self._bot.send_message(request.user_id, text)
        except TelegramAPIError as exc:
            log.info("access: cannot tell user %s: %s", request.user_id, exc)

    async def _locale_of(self, user_id: int) -> str:
        try:
            record = await self._storage.users.get(user_id)
        except StorageUnavailable:
            record = None
        available = self._i18n.available_locales
        for candidate in (
            record.language if record else None,
            (record.language_code or "").split("-")[0] if record else None,
        ):
            if candidate and candidate in available:
                return candidate
        return self._i18n.default_locale
