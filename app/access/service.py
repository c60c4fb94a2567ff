"""Access requests: a stranger asks, every admin gets an Approve/Deny card, one admin decides,
every card is updated and the user is told. Decisions are atomic in storage, so a replayed or
concurrent press decides nothing twice, and only an admin can decide at all."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from app.access.cards import admin_card_keyboard, admin_card_text, decided_card_text
from app.llm.access import AccessPolicy, AccessSettings, Role
from app.storage import AccessRequest, RequestStatus, Storage, UserRecord

log = logging.getLogger(__name__)


class RequestOutcome(StrEnum):
    CREATED = "created"  # admins were notified
    PENDING = "pending"  # an earlier request is still open: coalesced, nobody re-notified
    COOLDOWN = "cooldown"  # denied recently; may ask again later
    ALREADY_ALLOWED = "already_allowed"
    NO_ADMINS = "no_admins"  # nobody could be notified (no reachable admin)


class DecisionOutcome(StrEnum):
    DECIDED = "decided"
    ALREADY_DECIDED = "already_decided"
    NOT_ADMIN = "not_admin"
    UNKNOWN = "unknown"


class AccessService:
    def __init__(
        self,
        *,
        storage: Storage,
        settings: AccessSettings,
        bot: Bot,
        i18n: I18n,
        cooldown: timedelta = timedelta(hours=1),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._storage = storage
        self._settings = settings
        # Approval comes from the user record the middleware already loaded, so the policy
        # itself needs no storage round trip.
        self._policy = AccessPolicy(settings)
        self._bot = bot
        self._i18n = i18n
        self._cooldown = cooldown
        self._clock = clock

    @property
    def settings(self) -> AccessSettings:
        return self._settings

    async def role_of(self, record: UserRecord) -> Role:
        role = await self._policy.role(record.user_id, record.username)
        if role is Role.STRANGER and record.approved:
            return Role.FRIEND
        return role

    async def is_admin(self, user_id: int, username: str | None) -> bool:
        return await self._policy.role(user_id, username) is Role.ADMIN

    async def is_approved(self, user_id: int) -> bool:
        return await self._storage.users.is_approved(user_id)

    async def admin_chat_ids(self) -> list[int]:
        """Admins listed by id, plus admins listed by @username who have written to the bot
        (Telegram offers no way to message a username that never started the bot)."""
        ids = set(self._settings.admin_ids)
        for name in self._settings.admin_usernames:
            record = await self._storage.users.find_by_username(name)
            if record is not None:
                ids.add(record.user_id)
        return sorted(ids)

    # ------------------------------------------------------------------ the request side

    async def request_access(self, user: UserRecord) -> RequestOutcome:
        if await self.role_of(user) is not Role.STRANGER:
            return RequestOutcome.ALREADY_ALLOWED
        last = await self._storage.requests.last_request_for(user.user_id)
        if (
            last is not None
            and last.status in ("denied", "revoked")
            and last.decided_at is not None
            and self._clock() - last.decided_at < self._cooldown
        ):
            return RequestOutcome.COOLDOWN
        request, created = await self._storage.requests.open_or_get_pending(
            user.user_id, user.username, user.full_name or None
        )
        if not created and request.cards:
            return RequestOutcome.PENDING
        # New, or pending with no card delivered yet (no admin had opened the bot, or
        # Telegram refused): try the admins again rather than leave it pending unseen.
        sent = await self._send_cards(request)
        return RequestOutcome.CREATED if sent else RequestOutcome.NO_ADMINS

    async def _send_cards(self, request: AccessRequest) -> int:
        sent = 0
        for chat_id in await self.admin_chat_ids():
            with self._i18n.use_locale(await self._locale_of(chat_id)):
                text = admin_card_text(request)
                markup = admin_card_keyboard(request.id)
            try:
                message = await self._bot.send_message(
                    chat_id, text, reply_markup=markup, parse_mode="HTML"
                )
            except TelegramAPIError as exc:  # an admin who blocked the bot must not stop others
                log.warning("access: cannot notify admin %s: %s", chat_id, exc)
                continue
            await self._storage.requests.add_card(request.id, chat_id, message.message_id)
            sent += 1
        return sent

    # ------------------------------------------------------------------ the admin side

    async def decide(
        self, request_id: str, admin_id: int, approve: bool, admin_username: str | None = None
    ) -> tuple[DecisionOutcome, AccessRequest | None]:
        if not await self.is_admin(admin_id, admin_username):
            log.warning("access: user %s tried to decide request %s", admin_id, request_id)
            return DecisionOutcome.NOT_ADMIN, None
        status: RequestStatus = "approved" if approve else "denied"
        decided = await self._storage.requests.decide(request_id, status, admin_id)
        if decided is None:
            current = await self._storage.requests.get(request_id)
            if current is None:
                return DecisionOutcome.UNKNOWN, None
            if current.status == "approved":
                # Repairs a decision whose approval write failed after the status write.
                await self._storage.users.set_approved(current.user_id, True)
            return DecisionOutcome.ALREADY_DECIDED, current
        if approve:
            await self._storage.users.set_approved(decided.user_id, True)
        await self._update_cards(decided)
        await self._tell_user(decided)
        return DecisionOutcome.DECIDED, decided

    async def revoke(self, user_id: int, admin_id: int, admin_username: str | None = None) -> bool:
        if not await self.is_admin(admin_id, admin_username):
            return False
        await self._storage.users.set_approved(user_id, False)
        last = await self._storage.requests.last_request_for(user_id)
        if last is not None and last.status == "approved":
            await self._storage.requests.decide(last.id, "revoked", admin_id)
        return True

    async def _update_cards(self, request: AccessRequest) -> None:
        admin_name = await self._display_name(request.decided_by)
        for card in request.cards:
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
        record = await self._storage.users.get(user_id)
        available = self._i18n.available_locales
        for candidate in (
            record.language if record else None,
            (record.language_code or "").split("-")[0] if record else None,
        ):
            if candidate and candidate in available:
                return candidate
        return self._i18n.default_locale

    async def _display_name(self, user_id: int | None) -> str:
        if user_id is None:
            return "?"
        record = await self._storage.users.get(user_id)
        if record is None:
            return str(user_id)
        if record.username:
            return "@" + html.escape(record.username)
        return html.escape(record.full_name or str(user_id))
