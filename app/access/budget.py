"""Daily budgets as a hard limit: the storage-backed ``BudgetGuard`` of ``llmdoor``.

Before a model call the provider asks to reserve the call's worst-case cost; the ledger adds
it to the user's counter for the UTC day in one atomic storage operation that refuses when
the total would pass the budget, so parallel chats and several bot instances can never
overspend together. After the call the hold is settled to the real (or estimated) cost.
Admins are never limited."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from app.storage import SpendRepository
from app.storage.errors import StorageUnavailable
from llmdoor import NO_HOLD, BudgetExceeded, BudgetHold, BudgetUnavailable, Caller

log = logging.getLogger(__name__)


def utc_midnight(now: datetime) -> datetime:
    now = now.astimezone(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class _LedgerHold:
    ledger: SpendRepository
    user_id: int
    day: date
    reserved: float

    async def settle(self, cost_usd: float | None) -> None:
        delta = (cost_usd or 0.0) - self.reserved
        if abs(delta) < 1e-12:
            return
        try:
            await self.ledger.adjust(self.user_id, self.day, delta)
        except StorageUnavailable:
            # The reservation stays counted: an over-estimate, never an undercount.
            log.warning("budget: spend of user %s not settled, database unavailable", self.user_id)


class LedgerBudget:
    def __init__(
        self, ledger: SpendRepository, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._ledger = ledger
        self._clock = clock or (lambda: datetime.now(UTC))

    async def reserve(self, caller: Caller, estimate_usd: float | None) -> BudgetHold:
        if caller.user_id is None or caller.is_admin:
            return NO_HOLD
        midnight = utc_midnight(self._clock())
        amount = max(0.0, estimate_usd or 0.0)
        limit = caller.daily_budget_usd
        try:
            reserved = await self._ledger.reserve(caller.user_id, midnight.date(), amount, limit)
        except StorageUnavailable:
            if limit is not None:
                # Without the counter a limit cannot be kept: refuse rather than overspend.
                raise BudgetUnavailable(
                    "The daily budget cannot be checked right now (database unavailable).",
                    user_id=caller.user_id,
                ) from None
            log.warning(
                "budget: spend of user %s not counted, database unavailable", caller.user_id
            )
            return NO_HOLD
        if not reserved:
            raise BudgetExceeded(
                f"Daily budget of ${limit or 0:.2f} does not cover this call "
                f"(estimated ${amount:.4f}).",
                user_id=caller.user_id,
                resets_at=midnight + timedelta(days=1),
            )
        return _LedgerHold(self._ledger, caller.user_id, midnight.date(), amount)

    async def spent_today(self, user_id: int) -> float:
        return await self._ledger.spent(user_id, utc_midnight(self._clock()).date())
