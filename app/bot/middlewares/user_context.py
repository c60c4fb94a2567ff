"""Loads (and refreshes) the sender's user record and role for every update, before i18n and
the access gate, so both can use them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from app.access import AccessService
from app.storage import Storage, UserRecord

log = logging.getLogger(__name__)


class UserContextMiddleware(BaseMiddleware):
    def __init__(self, storage: Storage, access: AccessService) -> None:
        self._storage = storage
        self._access = access

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            # Channel posts, polls and the like carry no person: nothing to authorise,
            # so nothing gets through.
            return None
        try:
            record = await self._storage.users.upsert_seen(
                user.id, user.username, user.first_name, user.last_name, user.language_code
            )
        except Exception as exc:
            # Database down: don't lose the update. Admins and friends named in the settings
            # are still recognised and answered (without context); approvals, chosen models
            # and language overrides live in the database, so users approved there are
            # told to try again later (see AccessGateMiddleware) until it is back.
            log.warning(
                "user store unavailable (%s: %s): serving user %s from their Telegram profile",
                type(exc).__name__,
                str(exc)[:200],
                user.id,
            )
            record = UserRecord(
                user_id=user.id,
                username=user.username,
                first_name=user.first_name,
                last_name=user.last_name,
                language_code=user.language_code,
            )
            data["user_record_transient"] = True
        data["user_record"] = record
        data["role"] = await self._access.role_of(record)
        return await handler(event, data)
