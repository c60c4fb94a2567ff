"""A user's own spend (/me, /start): today and this month from the usage records, and the
budget the access rules give them (the one authority, through their ``Caller``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from app.access.budget import utc_midnight
from app.storage import Storage
from llmdoor import Caller


@dataclass(frozen=True)
class SpendSummary:
    today_usd: float
    month_usd: float
    daily_budget_usd: float | None  # None: no limit
    unlimited_role: bool  # admins are never limited

    @property
    def left_today_usd(self) -> float | None:
        if self.daily_budget_usd is None or self.unlimited_role:
            return None
        return max(0.0, self.daily_budget_usd - self.today_usd)


class SpendService:
    def __init__(self, storage: Storage, clock: Callable[[], datetime] | None = None) -> None:
        self._storage = storage
        self._clock = clock or (lambda: datetime.now(UTC))

    async def summary(self, caller: Caller) -> SpendSummary:
        """Raises StorageUnavailable when the records can't be read."""
        assert caller.user_id is not None
        midnight = utc_midnight(self._clock())
        month_start = midnight.replace(day=1)
        usage = self._storage.usage
        today = await usage.cost_since(caller.user_id, midnight)
        month = await usage.cost_since(caller.user_id, month_start)
        # The ledger also holds reservations of answers still streaming: the higher figure
        # is the one the budget is checked against.
        if not caller.is_admin:
            today = max(today, await self._storage.spend.spent(caller.user_id, midnight.date()))
        return SpendSummary(
            today_usd=today,
            month_usd=max(month, today),
            daily_budget_usd=None if caller.is_admin else caller.daily_budget_usd,
            unlimited_role=caller.is_admin,
        )
