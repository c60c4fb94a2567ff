"""Slow is not down: one failed or stalled call does not open the breaker for everyone.

The breaker opens on failures in a row, or when a probe fails too; a call that outlives
MONGODB_TIMEOUT_MS while the database still answers a probe gets more time."""

from __future__ import annotations

import asyncio
import contextlib

from pymongo.errors import AutoReconnect, NetworkTimeout

from app.storage import CircuitBreaker, StorageUnavailable
from app.storage.guard import guard


class Repo:
    def __init__(self) -> None:
        self.error: BaseException | None = None
        self.delay = 0.0
        self.calls = 0

    async def get(self, n: int) -> int:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return n


class Probe:
    def __init__(self) -> None:
        self.up = True
        self.pings = 0
        self.delay = 0.0  # how long a ping takes

    async def __call__(self) -> None:
        self.pings += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if not self.up:
            raise StorageUnavailable("down")


async def test_one_failed_call_does_not_open_the_breaker_while_the_probe_answers() -> None:
    probe, repo = Probe(), Repo()
    breaker = CircuitBreaker(probe, probe_interval=60)
    guarded = guard(repo, breaker)
    repo.error = NetworkTimeout("one slow reply under load")
    with contextlib.suppress(StorageUnavailable):
        await guarded.get(1)
    assert breaker.available and breaker.trips == 0
    assert probe.pings == 1  # the failure made the breaker ask, and the database answered
    repo.error = None
    assert await guarded.get(2) == 2  # everyone else goes on
    await breaker.aclose()


async def test_failures_in_a_row_open_the_breaker() -> None:
    probe, repo = Probe(), Repo()
    breaker = CircuitBreaker(probe, probe_interval=60, failure_threshold=3)
    guarded = guard(repo, breaker)
    repo.error = AutoReconnect("flapping")
    for _ in range(3):
        with contextlib.suppress(StorageUnavailable):
            await guarded.get(1)
    assert not breaker.available and breaker.trips == 1
    await breaker.aclose()


async def test_a_success_between_failures_resets_the_count() -> None:
    probe, repo = Probe(), Repo()
    breaker = CircuitBreaker(probe, probe_interval=60, failure_threshold=2)
    guarded = guard(repo, breaker)
    for _ in range(3):
        repo.error = AutoReconnect("once")
        with contextlib.suppress(StorageUnavailable):
            await guarded.get(1)
        repo.error = None
        await guarded.get(1)
    assert breaker.available and breaker.trips == 0
    await breaker.aclose()


async def test_a_single_slow_call_gets_more_time_and_does_not_open_the_breaker() -> None:
    probe, repo = Probe(), Repo()
    # judge_after stands for MONGODB_TIMEOUT_MS: the call takes five times as long.
    breaker = CircuitBreaker(probe, probe_interval=60, judge_after=0.02, call_timeout=5.0)
    guarded = guard(repo, breaker)
    repo.delay = 0.1
    assert await guarded.get(7) == 7  # slow, not down: it lands
    assert breaker.available and breaker.trips == 0
    assert breaker.slow_calls == 1 and probe.pings == 1
    await breaker.aclose()


async def test_many_slow_calls_at_once_share_one_probe() -> None:
    probe, repo = Probe(), Repo()
    breaker = CircuitBreaker(probe, probe_interval=60, judge_after=0.02, call_timeout=5.0)
    guarded = guard(repo, breaker)
    repo.delay = 0.1
    # The ping is still out while the others pass their judging time, also when a busy
    # machine spreads the 50 starts over more than one ping.
    probe.delay = 0.5
    assert await asyncio.gather(*(guarded.get(i) for i in range(50))) == list(range(50))
    assert breaker.available and probe.pings == 1
    await breaker.aclose()


async def test_a_stalled_call_on_a_dead_database_fails_fast_and_opens_the_breaker() -> None:
    probe, repo = Probe(), Repo()
    breaker = CircuitBreaker(probe, probe_interval=60, judge_after=0.02, call_timeout=30.0)
    guarded = guard(repo, breaker)
    repo.delay = 30.0
    probe.up = False
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        await guarded.get(1)
    except StorageUnavailable:
        pass
    else:
        raise AssertionError("a stalled call on a dead database must fail")
    assert loop.time() - started < 30.0  # ended by the verdict, not by the call's cap
    assert not breaker.available and breaker.trips == 1
    await breaker.aclose()


async def test_a_call_past_its_cap_is_an_outage() -> None:
    probe, repo = Probe(), Repo()
    breaker = CircuitBreaker(probe, probe_interval=60, judge_after=0.01, call_timeout=0.05)
    guarded = guard(repo, breaker)
    repo.delay = 1.0
    try:
        await guarded.get(1)
    except StorageUnavailable as exc:
        assert isinstance(exc.__cause__, TimeoutError)
    else:
        raise AssertionError("a call past its cap must fail")
    assert breaker.available  # one call past its cap, the probe answers: not down
    await breaker.aclose()
