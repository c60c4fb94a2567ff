"""Spend that could not be counted is counted later, never forgotten.

When the spend counter can't be written (the database is unavailable), the amount is kept
here per user and day, and added to the counter by a background task as soon as the
breaker sees the database back, and in any case before that user's next reservation
(``LedgerBudget.reserve`` calls ``settle_user`` first, and refuses a user with a budget
while it fails). So a budget is checked against every cent already spent.

Every amount carries an id from its first attempt, and the counter applies an id once
(``SpendRepository.adjust(op_id=...)``): a write that timed out after it landed is not
counted twice when it is replayed. Amounts live in this process; across instances, every
reservation was counted at its worst-case estimate before the call, so what waits here is
at most the difference to the real cost.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from datetime import date

from app.storage.base import SpendRepository
from app.storage.breaker import CircuitBreaker
from app.storage.draining import back_off, stop_task, until_empty
from app.storage.errors import StorageUnavailable

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
        # (user, day) -> [(op id, amount)], oldest first
        self._owed: dict[tuple[int, date], list[tuple[str, float]]] = defaultdict(list)
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
        return sum(amount for _op, amount in self._owed.get((user_id, day), []))

    @property
    def pending(self) -> int:
        return len(self._owed)

    def defer(self, user_id: int, day: date, delta_usd: float, op_id: str | None = None) -> None:
        """Count ``delta_usd`` later (it could not be written now)."""
        if delta_usd == 0:
            return
        self._owed[(user_id, day)].append((op_id or uuid.uuid4().hex, delta_usd))
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
        op_id = uuid.uuid4().hex
        if self.owes(user_id):
            self.defer(user_id, day, delta_usd, op_id)  # keep the order of this user's amounts
            return
        try:
            await self._ledger.adjust(user_id, day, delta_usd, op_id=op_id)
        except StorageUnavailable:
            self.defer(user_id, day, delta_usd, op_id)  # the same id: landed or not, once

    async def settle_user(self, user_id: int) -> None:
        """Write what this user owes; raises StorageUnavailable when it can't (it stays)."""
        if not self.owes(user_id):
            return
        async with self._locks[user_id]:
            for key in [k for k in self._owed if k[0] == user_id]:
                entries = self._owed.get(key, [])
                while entries:
                    op_id, amount = entries[0]
                    await self._ledger.adjust(key[0], key[1], amount, op_id=op_id)
                    entries.pop(0)
                    self.counted_later += 1
                    log.info(
                        "budget: deferred spend of user %s counted (%+.6f USD)", user_id, amount
                    )
                if not entries:
                    self._owed.pop(key, None)

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
                await back_off(self._breaker, delay)
                delay = min(delay * 2, self._retry_max)
            else:
                delay = self._retry_initial

    async def flush(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        if not self._owed:
            return True
        self._ensure_task()
        return await until_empty(lambda: bool(self._owed), timeout)

    async def close(self, timeout: float | None = 10.0) -> None:  # noqa: ASYNC109
        flushed = await self.flush(timeout)
        self._closed = True
        task, self._task = self._task, None
        await stop_task(task, self._wakeup)
        if not flushed:
            log.error(
                "budget: %d deferred spend amount(s) not counted at shutdown: %s",
                len(self._owed),
                ", ".join(f"user {u} {d}: {self.owed(u, d):+.6f}" for u, d in self._owed),
            )
