"""The shared send budget without MongoDB, and its limiter: one instance, the full budget;
the share follows the registry's count of live instances."""

from __future__ import annotations

from datetime import datetime

from app.bot.delivery.send_budget import AdaptiveLimiter, SharedSendBudget
from app.bot.delivery.streaming import make_bot_limiter
from app.storage import open_memory_storage
from app.storage.errors import StorageUnavailable


class FakeRegistry:
    def __init__(self) -> None:
        self.live = 1
        self.down = False
        self.left: list[str] = []

    async def beat(self, instance_id: str, now: datetime, stale_after: float) -> int:
        if self.down:
            raise StorageUnavailable("down")
        return self.live

    async def leave(self, instance_id: str) -> None:
        self.left.append(instance_id)


async def test_memory_mode_is_one_instance_with_the_full_budget() -> None:
    storage = open_memory_storage()
    try:
        assert storage.instances is None
        budget = SharedSendBudget(make_bot_limiter(25.0), 25.0, storage.instances)
        await budget.start()
        await budget.beat()
        assert (budget.live, budget.limiter.rate) == (1, 25.0)
        await budget.stop()
    finally:
        await storage.close()


async def test_share_follows_live_instances_and_survives_an_outage() -> None:
    reg = FakeRegistry()
    budget = SharedSendBudget(AdaptiveLimiter(30.0), 30.0, reg, interval=3600)
    await budget.start()
    assert budget.limiter.rate == 30.0
    reg.live = 3
    await budget.beat()
    assert budget.limiter.rate == 10.0
    reg.down = True
    await budget.beat()  # an outage keeps the last share, it does not raise
    assert budget.limiter.rate == 10.0
    reg.down, reg.live = False, 2
    await budget.beat()
    assert budget.limiter.rate == 15.0
    await budget.stop()
    assert reg.left == [budget.instance_id]


async def test_adaptive_limiter_paces_at_the_new_rate() -> None:
    limiter = AdaptiveLimiter(100.0)
    limiter.set_rate(2.0)
    await limiter.acquire()
    await limiter.acquire()
    assert not limiter.has_capacity()  # the bucket now holds 2, not 100
