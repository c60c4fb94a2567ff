"""One Telegram send budget shared by every instance of the bot.

Telegram's ~30 messages/s limit applies per bot, not per process. Each instance registers
in MongoDB (``bot_instances``) and refreshes a heartbeat every ``interval`` seconds; on each
beat it counts the live instances (a heartbeat younger than ``stale_after``) and sets its
own limiter to ``budget / live``. Sending never touches the database: the limiter is local
and only its rate changes, so a started or dead instance is accounted for within
``stale_after`` seconds. Without MongoDB there is one instance and the full budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from aiolimiter import AsyncLimiter
from bson import ObjectId

from app.storage.base import InstanceRegistry
from app.storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 1.0
STALE_AFTER = 3.5  # three missed beats: the instance is taken for dead


class AdaptiveLimiter(AsyncLimiter):
    """An ``AsyncLimiter`` (``rate`` per second, bursts up to ``rate``) whose rate can be
    changed while in use."""

    def __init__(self, rate_per_second: float) -> None:
        super().__init__(rate_per_second, 1.0)

    @property
    def rate(self) -> float:
        return self.max_rate

    def set_rate(self, rate_per_second: float) -> None:
        if rate_per_second == self.max_rate:
            return
        self._leak()  # settle the level at the old rate first
        self.max_rate = rate_per_second
        self._rate_per_sec = rate_per_second / self.time_period


class SharedSendBudget:
    """Keeps ``limiter`` at ``budget / live instances``; ``registry=None``: the full budget."""

    def __init__(
        self,
        limiter: AdaptiveLimiter,
        budget: float,
        registry: InstanceRegistry | None = None,
        *,
        interval: float = HEARTBEAT_INTERVAL,
        stale_after: float = STALE_AFTER,
    ) -> None:
        self.limiter = limiter
        self.budget = budget
        self.instance_id = str(ObjectId())
        self.live = 1
        self._registry = registry
        self._interval = interval
        self._stale_after = stale_after
        self._task: asyncio.Task[None] | None = None
        limiter.set_rate(budget)

    async def beat(self) -> None:
        """One heartbeat; on a database outage the last share is kept."""
        if self._registry is None:
            return
        try:
            live = await self._registry.beat(self.instance_id, datetime.now(UTC), self._stale_after)
        except StorageUnavailable as exc:
            log.debug("send budget: heartbeat failed (%s); keeping 1/%s", exc, self.live)
            return
        if live != self.live:
            log.info("send budget: %s live instance(s), %.1f msg/s here", live, self.budget / live)
        self.live = live
        self.limiter.set_rate(self.budget / live)

    async def start(self) -> None:
        """Register (first beat at once, so a new instance takes its share from the start)
        and keep beating in the background."""
        if self._registry is None or self._task is not None:
            return
        await self.beat()
        self._task = asyncio.create_task(self._run(), name="send-budget-heartbeat")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.beat()

    async def stop(self) -> None:
        """Stop beating and leave, so the others take this share at their next beat."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._registry is not None:
            with contextlib.suppress(StorageUnavailable):
                await self._registry.leave(self.instance_id)
