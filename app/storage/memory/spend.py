"""Spend counters and username bindings kept in dicts.

Each change happens under a lock with no ``await`` inside, so it is atomic on the event loop
and also against callers on other threads (the sync ``llmdoor`` API runs its own loop).
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import date

from app.storage.base import SPEND_EPSILON, SPEND_RECENT_OPS, normalise_username


class MemorySpendRepository:
    def __init__(self) -> None:
        self._totals: dict[tuple[int, date], float] = {}
        self._ops: dict[tuple[int, date], deque[str]] = {}
        self._lock = threading.Lock()

    async def reserve(
        self,
        user_id: int,
        day: date,
        amount_usd: float,
        limit_usd: float | None,
        op_id: str | None = None,
    ) -> bool:
        key = (user_id, day)
        with self._lock:
            total = self._totals.get(key, 0.0)
            if limit_usd is not None:
                fits = (
                    total < limit_usd
                    if amount_usd == 0
                    else total <= limit_usd - amount_usd + SPEND_EPSILON
                )
                if not fits:
                    return False
            self._totals[key] = total + amount_usd
            if op_id is not None:
                self._ops.setdefault(key, deque(maxlen=SPEND_RECENT_OPS)).append(op_id)
            return True

    async def adjust(
        self, user_id: int, day: date, delta_usd: float, op_id: str | None = None
    ) -> None:
        key = (user_id, day)
        with self._lock:
            if op_id is not None:
                seen = self._ops.setdefault(key, deque(maxlen=SPEND_RECENT_OPS))
                if op_id in seen:
                    return  # applied before
                seen.append(op_id)
            self._totals[key] = max(0.0, self._totals.get(key, 0.0) + delta_usd)

    async def spent(self, user_id: int, day: date) -> float:
        with self._lock:
            return self._totals.get((user_id, day), 0.0)


class MemoryIdentityRepository:
    def __init__(self) -> None:
        self._bound: dict[str, int] = {}
        self._lock = threading.Lock()

    async def bind(self, username: str, user_id: int) -> int:
        name = normalise_username(username)
        with self._lock:
            return self._bound.setdefault(name, user_id)

    async def bound(self) -> dict[str, int]:
        with self._lock:
            return dict(self._bound)
