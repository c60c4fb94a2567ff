"""The circuit breaker and the guard: one typed error for outages, bugs stay bugs, an
injected outage fails fast on every backend, and the probe ends it."""

from __future__ import annotations

import asyncio
import time
from datetime import date

import pytest
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.memory import MemoryStorage
from pymongo.errors import (
    AutoReconnect,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from app.bot.run.fsm import ResilientFSMStorage
from app.storage import CircuitBreaker, Storage, StorageUnavailable, open_memory_storage
from app.storage.guard import guard, is_outage
from app.storage.memory import MemoryUserRepository
from llmdoor.usage import UsageEvent


class Failing:
    """A repository whose next call raises ``error``."""

    def __init__(self) -> None:
        self.error: BaseException | None = None
        self.calls = 0

    async def get(self, user_id: int) -> int:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return user_id

    async def stream(self, n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            if i == 1 and self.error is not None:
                raise self.error
            yield i


@pytest.mark.parametrize(
    "error",
    [
        AutoReconnect("mongodb://bot:s3cr3t@db:27017 refused"),
        NetworkTimeout("timed out"),
        ServerSelectionTimeoutError("no servers"),
        TimeoutError(),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_outages_become_storage_unavailable_and_open_the_breaker(
    error: BaseException,
) -> None:
    repo = Failing()

    async def probe() -> None:  # the database is down: the probe fails as the call did
        if repo.error is not None:
            raise StorageUnavailable("down")

    breaker = CircuitBreaker(probe, probe_interval=60)
    guarded = guard(repo, breaker)
    repo.error = error
    with pytest.raises(StorageUnavailable) as info:
        await guarded.get(1)
    assert info.value.__cause__ is error
    assert "s3cr3t" not in str(info.value) and "mongodb://" not in str(info.value)
    assert not breaker.available
    # While open, calls fail without reaching the repository.
    repo.error = None
    with pytest.raises(StorageUnavailable):
        await guarded.get(1)
    assert repo.calls == 1
    assert await breaker.probe_now()  # the (in-memory) probe answers: closed again
    assert await guarded.get(7) == 7
    await breaker.aclose()


@pytest.mark.parametrize(
    "error",
    [TypeError("bad argument"), OperationFailure("unknown operator: $bogus", code=2)],
    ids=lambda e: type(e).__name__,
)
async def test_bugs_are_not_outages(error: BaseException) -> None:
    breaker = CircuitBreaker(probe_interval=60)
    repo = Failing()
    repo.error = error
    with pytest.raises(type(error)) as info:
        await guard(repo, breaker).get(1)
    assert info.value is error and not isinstance(info.value, StorageUnavailable)
    assert breaker.available and not is_outage(error)


async def test_a_real_type_error_passes_through_the_guard() -> None:
    st = open_memory_storage()
    with pytest.raises(TypeError):
        await st.users.get()  # type: ignore[call-arg]
    assert st.available
    await st.close()


async def test_async_generators_are_guarded_too() -> None:
    repo = Failing()

    async def probe() -> None:
        if repo.error is not None:
            raise StorageUnavailable("down")

    breaker = CircuitBreaker(probe, probe_interval=60)
    guarded = guard(repo, breaker)
    assert [i async for i in guarded.stream(3)] == [0, 1, 2]
    repo.error = AutoReconnect("gone")
    with pytest.raises(StorageUnavailable):
        _ = [i async for i in guarded.stream(3)]
    assert not breaker.available
    with pytest.raises(StorageUnavailable):
        _ = [i async for i in guarded.stream(3)]
    await breaker.aclose()


async def test_guarded_repositories_keep_their_protocol() -> None:
    guarded = guard(MemoryUserRepository(), CircuitBreaker())
    await guarded.upsert_seen(1, "a")
    assert (await guarded.get(1)).username == "a"  # type: ignore[union-attr]
    assert type(guarded).__name__ == "GuardedMemoryUserRepository"


async def test_injected_outage_on_memory_fails_fast_and_recovers() -> None:
    st: Storage = open_memory_storage(probe_interval=0.05)
    await st.users.upsert_seen(1, "a")
    st.breaker.inject_outage()
    calls = [
        lambda: st.users.get(1),
        lambda: st.requests.count_pending(),
        lambda: st.spend.reserve(1, date(2026, 11, 25), 0.1, 1.0),
        lambda: st.identities.bound(),
        lambda: st.conversations.active(1, 1),
        lambda: st.usage.count(),
    ]
    for call in calls:
        with pytest.raises(StorageUnavailable):
            await call()
    assert not st.available and st.breaker.trips == 1
    assert st.breaker.rejected == len(calls)
    await asyncio.sleep(0.2)
    assert not st.available  # probes fail while the outage lasts

    st.breaker.clear_outage()
    assert await st.breaker.wait_available(timeout=5)  # the background probe closed it
    assert (await st.users.get(1)).username == "a"  # type: ignore[union-attr]
    await st.close()


async def test_usage_is_buffered_during_an_injected_outage_and_stored_after() -> None:
    st = open_memory_storage(
        probe_interval=0.05, sink_options={"retry_initial": 0.01, "retry_max": 0.05}
    )
    st.breaker.inject_outage()
    started = time.perf_counter()
    for i in range(25):
        await st.usage_sink.record(UsageEvent(user_id=i, model="m"))
    assert time.perf_counter() - started < 1.0  # generous: nothing waits on a dead database
    assert st.usage_sink.buffered == 25
    st.breaker.clear_outage()
    assert await st.usage_sink.flush(timeout=10)
    assert await st.usage.count() == 25 and st.usage_sink.dropped == 0
    await st.close()


class FlakyFSM(MemoryStorage):
    def __init__(self) -> None:
        super().__init__()
        self.error: BaseException | None = None
        self.calls = 0

    async def get_state(self, key: StorageKey) -> str | None:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return await super().get_state(key)


async def test_fsm_storage_degrades_fast_on_outages_and_raises_bugs() -> None:
    inner = FlakyFSM()
    fsm = ResilientFSMStorage(inner)  # its own breaker, probing through ``inner``
    fsm.breaker.probe_interval = 60
    key = StorageKey(bot_id=1, chat_id=2, user_id=3)
    await fsm.set_state(key, "S:one")
    inner.error = AutoReconnect("gone")
    assert await fsm.get_state(key) is None and not fsm.breaker.available
    calls = inner.calls
    assert await fsm.get_state(key) is None
    assert await fsm.get_data(key) == {}
    assert inner.calls == calls  # open: the inner storage is not asked at all
    inner.error = None
    assert await fsm.breaker.probe_now()
    assert await fsm.get_state(key) == "S:one"
    inner.error = TypeError("bug")
    with pytest.raises(TypeError):
        await fsm.get_state(key)
    assert fsm.breaker.available
    await fsm.close()
