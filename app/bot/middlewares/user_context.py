"""Loads (and refreshes) the sender's user record and decides their Caller once per update,
before i18n and the access gate: the record and the Caller travel with the update into the
handlers, the LLM provider and the budget, so no second user read happens."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update, User

from app.access import AccessAuthority
from app.storage import Storage, UserRecord
from app.storage.errors import StorageUnavailable

log = logging.getLogger(__name__)


class UserContextMiddleware(BaseMiddleware):
    def __init__(self, storage: Storage, authority: AccessAuthority) -> None:
        self._storage = storage
        self._authority = authority

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        stopped = event.stopped_message_generation if isinstance(event, Update) else None
        if user is None and stopped is not None:
            return await self._stop_pressed(handler, event, data, stopped.chat.id)
        if user is None or user.is_bot:
            # Channel posts, polls and the like carry no person: nothing to authorise,
            # so nothing gets through.
            return None
        try:
            record = await self._storage.users.upsert_seen(
                user.id, user.username, user.first_name, user.last_name, user.language_code
            )
            caller = await self._authority.caller_for(record)
        except StorageUnavailable as exc:
            # Database down: don't lose the update. Admins and friends named by id in the
            # settings are still recognised and answered (without context); approvals,
            # name bindings, chosen models and language overrides live in the database, so
            # everyone else is told to try again later (see AccessGateMiddleware).
            log.warning("user store unavailable (%s): serving user %s from settings", exc, user.id)
            record = UserRecord(
                user_id=user.id,
                username=user.username,
                first_name=user.first_name,
                last_name=user.last_name,
                language_code=user.language_code,
            )
            caller = self._authority.caller_without_storage(record)
            data["user_record_transient"] = True
        data["user_record"] = record
        data["caller"] = caller
        data["role"] = caller.role
        return await handler(event, data)

    async def _stop_pressed(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
        chat_id: int,
    ) -> Any:
        """Telegram's own Stop under a draft names only the chat. Drafts go to private
        chats, whose id is the person's: the person is the user of that id, when the bot
        knows one (a group's id is never a user's). Read, not refreshed: the update carries
        no name or language to store."""
        try:
            record = await self._storage.users.get(chat_id)
        except StorageUnavailable:
            record = UserRecord(user_id=chat_id)
            data["user_record_transient"] = True
        if record is None:
            return None
        caller = (
            self._authority.caller_without_storage(record)
            if data.get("user_record_transient")
            else await self._authority.caller_for(record)
        )
        data["user_record"] = record
        data["caller"] = caller
        data["role"] = caller.role
        return await handler(event, data)
