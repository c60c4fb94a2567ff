"""DurableUsageSink: a failed write is buffered and retried; the record count is never short."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest

from app.storage import DurableUsageSink, StatsWindow, StorageUnavailable, UsageRecord
from app.storage.memory import MemoryUsageRepository
from app.storage.mongo import open_mongo_storage
from llmdoor.usage import UsageEvent, UsageSink
from tests.storage.mongo_server import SecantusProcess, fresh_db_name, mongo_kind

FAST = {"retry_initial": 0.01, "retry_max": 0.05, "write_timeout": 1.0}


class FlakyRepo(MemoryUsageRepository):
    """Fails the first ``failures`` write calls; ``land_then_fail`` simulates a write that
    reached the database but whose reply was lost (a timeout after the fact)."""

    def __init__(self, failures: int, *, land_then_fail: bool = False) -> None:
        super().__init__()
        self.failures = failures
        self.land_then_fail = land_then_fail
        self.calls = 0

    def _maybe_fail(self) -> None:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise StorageUnavailable("connection refused")

    async def add(self, event: UsageEvent) -> UsageRecord:
        if self.land_then_fail and self.failures > 0:
            await super().add(event)
        self._maybe_fail()
        return await super().add(event)

    async def add_many(self, events: Sequence[UsageEvent]) -> int:
        if self.land_then_fail and self.failures > 0:
            await super().add_many(events)
        self._maybe_fail()
        return await super().add_many(events)


def ev(i: int) -> UsageEvent:
    return UsageEvent(user_id=i, model="m", latency_ms=float(i))


async def test_is_a_usage_sink() -> None:
    assert isinstance(DurableUsageSink(MemoryUsageRepository()), UsageSink)


async def test_failed_writes_are_retried_until_stored() -> None:
    repo = FlakyRepo(failures=5)
    sink = DurableUsageSink(repo, **FAST)
    for i in range(40):
        await sink.record(ev(i))
    assert await sink.flush(timeout=5)
    assert (sink.written, sink.buffered, sink.dropped) == (40, 0, 0)
    assert sink.failures == 5
    assert await repo.count() == 40
    # Order is kept: the buffer drains oldest first.
    assert [r.user_id async for r in repo.iter_records()] == list(range(40))
    await sink.close()


async def test_writes_that_landed_are_not_doubled() -> None:
    repo = FlakyRepo(failures=3, land_then_fail=True)
    sink = DurableUsageSink(repo, **FAST)
    for i in range(10):
        await sink.record(ev(i))
    await sink.close()
    assert await repo.count() == 10 and sink.written == 10


async def test_full_buffer_drops_oldest_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    repo = FlakyRepo(failures=10**9)
    sink = DurableUsageSink(repo, max_buffer=10, **FAST)
    with caplog.at_level(logging.ERROR, logger="app.storage.durable_sink"):
        for i in range(15):
            await sink.record(ev(i))
    assert (sink.buffered, sink.dropped) == (10, 5)
    assert any("dropped" in r.message for r in caplog.records if r.levelno == logging.ERROR)
    repo.failures = 0
    assert await sink.flush(timeout=5)
    assert [r.user_id async for r in repo.iter_records()] == list(range(5, 15))
    assert sink.written == 10
    await sink.close()


async def test_close_reports_what_it_could_not_write(caplog: pytest.LogCaptureFixture) -> None:
    repo = FlakyRepo(failures=10**9)
    sink = DurableUsageSink(repo, **FAST)
    await sink.record(ev(1))
    with caplog.at_level(logging.ERROR, logger="app.storage.durable_sink"):
        await sink.close(timeout=0.1)
    assert sink.dropped == 1 and sink.buffered == 0
    assert any("lost" in r.message for r in caplog.records)


async def test_slow_write_times_out_into_the_buffer() -> None:
    class Slow(MemoryUsageRepository):
        slow = True

        async def add(self, event: UsageEvent) -> UsageRecord:
            if self.slow:
                await asyncio.sleep(10)
            return await super().add(event)

    repo = Slow()
    sink = DurableUsageSink(repo, write_timeout=0.05, retry_initial=0.01, retry_max=0.05)
    await sink.record(ev(1))  # returns after the timeout, not 10 s
    assert sink.buffered == 1
    repo.slow = False  # add_many (the retry path) was never slow
    assert await sink.flush(timeout=5)
    assert await repo.count() == 1
    await sink.close()


@pytest.mark.skipif(mongo_kind() == "real", reason="stops the server: SecantusDB stand-in only")
async def test_secantus_down_and_back_loses_nothing(data_dir: Path) -> None:
    proc = SecantusProcess(data_dir)
    await proc.astart()
    db = fresh_db_name("sink")
    storage = await open_mongo_storage(
        proc.uri,
        db_name=db,
        client_options={"serverSelectionTimeoutMS": 500, "connectTimeoutMS": 500},
        sink_options={"retry_initial": 0.05, "retry_max": 0.2, "write_timeout": 1.0},
    )
    sink = storage.usage_sink
    try:
        for i in range(20):
            await sink.record(ev(i))
        assert sink.written == 20 and sink.buffered == 0

        await proc.astop()
        for i in range(20, 50):
            await sink.record(ev(i))
        await asyncio.sleep(1.2)  # let retries fail against the dead server
        assert sink.buffered == 30 and sink.failures >= 2  # the direct write + a retry

        await proc.astart()  # same directory, same port: the client reconnects itself
        assert await sink.flush(timeout=30)
        assert (sink.written, sink.buffered, sink.dropped) == (50, 0, 0)
        assert await storage.usage.count() == 50
        users = sorted([r.user_id async for r in storage.usage.iter_records(StatsWindow())])
        assert users == list(range(50))
    finally:
        await storage.close()
        await proc.astop()


async def test_a_cancelled_caller_does_not_lose_its_record() -> None:
    class Hanging(MemoryUsageRepository):
        hang = True

        async def add(self, event: UsageEvent) -> UsageRecord:
            if self.hang:
                await asyncio.sleep(10)
            return await super().add(event)

    repo = Hanging()
    sink = DurableUsageSink(repo, **FAST)
    writer = asyncio.create_task(sink.record(ev(1)))
    await asyncio.sleep(0.05)
    writer.cancel()  # e.g. shutdown, or a wait_for around the caller's model call
    with pytest.raises(asyncio.CancelledError):
        await writer
    assert sink.buffered == 1 and sink.dropped == 0
    repo.hang = False
    assert await sink.flush(timeout=5)
    assert await repo.count() == 1
    await sink.close()
