"""Strangers cost the bot nothing: at most one refusal per cooldown and user.

Kept per process and bounded: a stranger flooding the bot gets one answer per cooldown from
each instance, and the memory held is capped whatever the number of strangers."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class RefusalThrottle:
    def __init__(
        self,
        cooldown_seconds: float,
        *,
        max_users: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cooldown = cooldown_seconds
        self._max = max_users
        self._clock = clock
        self._last: OrderedDict[int, float] = OrderedDict()

    @property
    def cooldown_seconds(self) -> float:
        return self._cooldown

    def allow(self, user_id: int) -> bool:
        """True when this user may be answered now (and counts it as answered)."""
        now = self._clock()
        last = self._last.get(user_id)
        if last is not None and now - last < self._cooldown:
            return False
        self._last[user_id] = now
        self._last.move_to_end(user_id)
        while len(self._last) > self._max:
            self._last.popitem(last=False)
        return True
