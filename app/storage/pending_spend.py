"""Spend that could not be counted is counted later, never forgotten.

When the spend counter can't be written (the database is unavailable), the amount is kept
here per user and day, and added to the counter by a background task as soon as the
breaker sees the database back, and in any case before that user's next reservation
(``LedgerBudget.reserve`` calls ``settle_user`` first, and refuses a user with a budget
while it fails). So a budget is checked against every cent already spent.

A failed write that may have reached the server (a network timeout) is ambiguous: a
charge is then kept (counting it twice is an over-estimate), a refund is dropped (never an
undercount). Amounts live in this process; across instances, every reservation was
counted at its worst-case estimate before the call, so what waits here is at most the
difference to the real cost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import date

from app.storage.base import SpendRepository
from app.storage.breaker import CircuitBreaker
from app.storage.errors import StorageUnavailable
from app.storage.write_behind import maybe_landed

log = logging.getLogger(__name__)

RETRY_INITIAL = 0.2
RETRY_MAX = 10.0


class PendingSpend:
    def __init__(
        self,
        ledger: SpendRepository,
        breaker: CircuitBreaker | None = None,
        *,
        retry_initial: float = RETRY_INITIAL,
        retry_max: float = RETRY_MAX,
    ) -> None:
        self._ledger = ledger
        self._breaker = breaker
        self._owed: dict[tuple[int, date], float] = defaultdict(float)
        self._locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._task: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Event | None = None
        self._closed = False
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self.deferred = 0  # amounts that had to wait (tests, bench)
        self.counted_later = 0

    def owes(self, user_id: int) -> bool:
        return any(uid == user_id for uid, _ in self._owed)

    def owed(self, user_id: int, day: date) -> float:
        """What waits to be counted for this user and day."""
        return self._owed.get((user_id, day), 0.0)

    @property
    def pending(self) -> int:
        return len(self._owed)

    def defer(self, user_id: int, day: date, delta_usd: float) -> None:
        """Count ``delta_usd`` later (it could not be written now)."""
        if delta_usd == 0:
            return
        self._owed[(user_id, day)] += delta_usd
        self.deferred += 1
        log.warning(
            "budget: spend of user %s (%+.6f USD) deferred, database unavailable; "
            "counted before their next call",
            user_id,
            delta_usd,
        )
        self._ensure_task()

    async def adjust(self, user_id: int, day: date, delta_usd: float) -> None:
        """Write ``delta_usd`` now, or defer it when the database is unavailable."""
        if delta_usd == 0:
            return
        if self.owes(user_id):
            self.defer(user_id, day, delta_usd)  # keep the order of this user's amounts
            return
        try:
            await self._ledger.adjust(user_id, day, delta_usd)
        except StorageUnavailable as exc:
            if delta_usd < 0 and maybe_landed(exc):
                log.warning(
                    "budget: refund to user %s may not have been written; kept as spent "
                    "(an over-count, never an under-count)",
                    user_id,
                )
                return
            self.defer(user_id, day, delta_usd)

    async def settle_user(self, user_id: int) -> None:
        """Write what this user owes; raises StorageUnavailable when it can't (it stays)."""
        if not self.owes(user_id):
            return
        async with self._locks[user_id]:
            for key in [k for k in self._owed if k[0] == user_id]:
                amount = self._owed.pop(key, 0.0)
                if amount == 0:
                    continue
                try:
                    await self._ledger.adjust(key[0], key[1], amount)
                except StorageUnavailable as exc:
                    if not (amount < 0 and maybe_landed(exc)):
                        self._owed[key] += amount
                    raise
                self.counted_later += 1
                log.info("budget: deferred spend of user %s counted (%+.6f USD)", user_id, amount)

    async def settle_all(self) -> None:
        for user_id in sorted({uid for uid, _ in self._owed}):
            await self.settle_user(user_id)

    def _ensure_task(self) -> None:
        if self._wakeup is None:
            self._wakeup = asyncio.Event()
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="pending-spend")

    async def _loop(self) -> None:
        assert self._wakeup is not None
        delay = self._retry_initial
        while not self._closed:
            if not self._owed:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            try:
                await self.settle_all()
            except StorageUnavailable:
                if self._breaker is not None and not self._breaker.available:
                    await self._breaker.wait_available(delay)
                else:
                    await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)
            else:
                delay = self._retry_initial

    async def flush(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        if not self._owed:
            return True
        self._ensure_task()
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._owed:
            if deadline is not None and loop.time() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def close(self, timeout: float | None = 10.0) -> None:  # noqa: ASYNC109
        flushed = await self.flush(timeout)
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            if self._wakeup is not None:
                self._wakeup.set()
            task.cancel()
            # Not ``await task``: a cancel that lands as the task's own wait completes can
            # be lost (asyncio.wait_for in Python 3.11), and the loop ends on _closed anyway.
            await asyncio.wait({task}, timeout=1.0)
        if not flushed:
            log.error(
                "budget: %d deferred spend amount(s) not counted at shutdown: %s",
                len(self._owed),
                ", ".join(f"user {u} {d}: {a:+.6f}" for (u, d), a in self._owed.items()),
            )
