"""Per-user daily cost budgets, enforced by the LLM provider before each call.

Implements ``app.llm.provider.BudgetPolicy`` (``async check(user_id) -> None``). A day is
a UTC calendar day; spend is what storage has recorded since that midnight (priced calls
only: an unpriced call cannot be counted, and guessing would block people wrongly)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from app.llm.access import AccessSettings
from app.llm.errors import BudgetExceeded
from app.storage import Storage, UserRecord

log = logging.getLogger(__name__)

IsAdminCallback = Callable[[int], Awaitable[bool]]


class StorageBudgetPolicy:
    def __init__(
        self,
        storage: Storage,
        access_settings: AccessSettings,
        clock: Callable[[], datetime] | None = None,
        *,
        is_admin: IsAdminCallback | None = None,
    ) -> None:
        self._storage = storage
        self._settings = access_settings
        self._clock = clock or (lambda: datetime.now(UTC))
        # Admins listed by @username are only known by id through a lookup; the bot can
        # pass its own role check here.
        self._is_admin = is_admin

    async def _exempt(self, user_id: int, record: UserRecord) -> bool:
        username = (record.username or "").lower()
        if username and username in self._settings.admin_usernames:
            return True
        return self._is_admin is not None and await self._is_admin(user_id)

    async def check(self, user_id: int) -> None:
        """Raise BudgetExceeded once today's spend reached the user's budget."""
        if user_id in self._settings.admin_ids:
            return  # the common case for the owner: no storage round trip
        now = self._clock().astimezone(UTC)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        try:
            record = await self._storage.users.get(user_id)
            budget = record.daily_budget_usd if record else None
            if record is None or budget is None or await self._exempt(user_id, record):
                return
            spent = await self._storage.usage.cost_since(user_id, midnight)
        except Exception as exc:
            # Database down. Only users who passed the access check get here, and their
            # calls are still recorded (the usage sink buffers them), so a brief outage
            # lets them exceed a budget by a little rather than losing every answer.
            log.warning(
                "budget of user %s unchecked, database unavailable (%s: %s)",
                user_id,
                type(exc).__name__,
                str(exc)[:200],
            )
            return
        if spent >= budget:
            raise BudgetExceeded(
                f"Daily budget of ${budget:.2f} reached (spent ${spent:.4f}).",
                user_id=user_id,
                resets_at=midnight + timedelta(days=1),
            )
