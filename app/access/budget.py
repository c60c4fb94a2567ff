"""Daily budgets as a hard limit: the storage-backed ``BudgetGuard`` of ``llmdoor``.

Before a model call the provider asks to reserve the call's worst-case cost; the ledger adds
it to the user's counter for the UTC day in one atomic storage operation that refuses when
the total would pass the budget, so parallel chats and several bot instances can never
overspend together. After the call the hold is settled to the real (or estimated) cost.
Admins are never limited.

Spend that cannot be written (the database is unavailable) is never forgotten: it waits in
``PendingSpend`` and is counted before the user's next reservation; a user with a budget
is refused while that fails, so a budget is always checked against all of their spend."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from app.storage import SpendRepository
from app.storage.errors import StorageUnavailable
from app.storage.pending_spend import PendingSpend
from llmdoor import NO_HOLD, BudgetExceeded, BudgetHold, BudgetUnavailable, Caller


def utc_midnight(now: datetime) -> datetime:
    now = now.astimezone(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass
class _LedgerHold:
    pending: PendingSpend
    user_id: int
    day: date
    reserved: float
    # The reservation itself could not be written: it waits in ``pending``, and so does
    # the settlement (the counter must see both together, not a refund before the charge).
    deferred: bool = False

    async def settle(self, cost_usd: float | None) -> None:
        delta = (cost_usd or 0.0) - self.reserved
        if abs(delta) < 1e-12:
            return
        if self.deferred:
            self.pending.defer(self.user_id, self.day, delta)
            return
        await self.pending.adjust(self.user_id, self.day, delta)


class LedgerBudget:
    def __init__(
        self,
        ledger: SpendRepository,
        clock: Callable[[], datetime] | None = None,
        pending: PendingSpend | None = None,
    ) -> None:
        self._ledger = ledger
        self._clock = clock or (lambda: datetime.now(UTC))
        self._pending = pending if pending is not None else PendingSpend(ledger)

    async def reserve(self, caller: Caller, estimate_usd: float | None) -> BudgetHold:
        if caller.user_id is None or caller.is_admin:
            return NO_HOLD
        midnight = utc_midnight(self._clock())
        day = midnight.date()
        amount = max(0.0, estimate_usd or 0.0)
        limit = caller.daily_budget_usd
        op_id = uuid.uuid4().hex  # a replay of this reservation counts once
        try:
            # What could not be counted before is counted before this call is allowed.
            await self._pending.settle_user(caller.user_id)
            reserved = await self._ledger.reserve(caller.user_id, day, amount, limit, op_id)
        except StorageUnavailable:
            if limit is not None:
                # Without the counter a limit cannot be kept: refuse rather than overspend.
                raise BudgetUnavailable(
                    "The daily budget cannot be checked right now (database unavailable).",
                    user_id=caller.user_id,
                ) from None
            # No limit to keep: answer, and count the spend as soon as the database is back.
            self._pending.defer(caller.user_id, day, amount, op_id)
            return _LedgerHold(self._pending, caller.user_id, day, amount, deferred=True)
        if not reserved:
            raise BudgetExceeded(
                f"Daily budget of ${limit or 0:.2f} does not cover this call "
                f"(estimated ${amount:.4f}).",
                user_id=caller.user_id,
                resets_at=midnight + timedelta(days=1),
            )
        return _LedgerHold(self._pending, caller.user_id, day, amount)

    async def spent_today(self, user_id: int) -> float:
        day = utc_midnight(self._clock()).date()
        return await self._ledger.spent(user_id, day) + self._pending.owed(user_id, day)
