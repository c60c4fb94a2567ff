"""A database outage costs no time: SecantusDB really stops and restarts under a storage.

The first call finds the database down within about MONGODB_TIMEOUT_MS, the breaker opens,
later calls fail at once without touching the network, the probe closes the breaker after
the restart, and the usage written meanwhile is stored, none lost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from pymongo.errors import OperationFailure

from app.bot.run.fsm import make_fsm_storage
from app.storage import Storage, StorageUnavailable, open_storage
from llmdoor.usage import UsageEvent
from tests.storage.mongo_server import MongoTarget, SecantusProcess, fresh_db_name, mongo_kind

FIRST_FAILURE_BOUND = 2.5  # s; the target is MONGODB_TIMEOUT_MS (1 s), the margin is generous
OPEN_BREAKER_BOUND = 0.1  # s; no network at all, generous
DAY = date(2026, 11, 25)


async def _timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, StorageUnavailable]:
    started = time.perf_counter()
    with pytest.raises(StorageUnavailable) as info:
        await call()
    return time.perf_counter() - started, info.value


@pytest.mark.mongodb
async def test_a_bad_query_is_a_bug_not_an_outage(mongo: MongoTarget, scratch_db: str) -> None:
    st = await open_storage(mongo.uri, db_name=scratch_db)
    try:
        with pytest.raises(OperationFailure):
            await st.usage.per_user(limit=-1)  # $limit must be positive: the server says so
        assert st.available
        with pytest.raises(TypeError):
            await st.spend.reserve(1, DAY)  # type: ignore[call-arg]
        assert st.available and st.breaker.trips == 0
    finally:
        await st.close()


@pytest.mark.skipif(mongo_kind() == "real", reason="stops the server: SecantusDB stand-in only")
async def test_outage_fails_fast_and_recovers_without_losing_usage(data_dir: Path) -> None:
    proc = SecantusProcess(data_dir)
    await proc.astart()
    db = fresh_db_name("outage")
    st: Storage = await open_storage(
        proc.uri,
        db_name=db,
        probe_interval=0.2,
        sink_options={"retry_initial": 0.05, "retry_max": 0.2},
    )
    fsm = make_fsm_storage(proc.uri, db_name=db, breaker=st.breaker)
    key = StorageKey(bot_id=1, chat_id=2, user_id=3)
    try:
        await st.users.upsert_seen(1, "alice")
        req, _ = await st.requests.open_or_get_pending(2, "bob", "Bob")
        await fsm.set_state(key, "Dialog:pick")
        for i in range(10):
            await st.usage_sink.record(UsageEvent(user_id=i, model="m"))
        assert st.usage_sink.written == 10 and st.available

        await proc.astop()
        first, err = await _timed(lambda: st.users.get(1))
        assert first < FIRST_FAILURE_BOUND
        assert not st.available
        assert proc.uri not in str(err) and "127.0.0.1" not in str(err)
        assert err.__cause__ is not None  # the driver's error, chained

        later = [
            await _timed(lambda: st.users.get(1)),
            await _timed(lambda: st.spend.reserve(1, DAY, 0.1, 1.0)),
            await _timed(lambda: st.requests.claim_delivery(req.id, timedelta(minutes=1))),
            await _timed(lambda: st.identities.bind("boss", 1)),
            await _timed(lambda: st.conversations.active(1, 1)),
            await _timed(lambda: st.usage.totals()),
        ]
        worst = max(elapsed for elapsed, _ in later)
        assert worst < OPEN_BREAKER_BOUND

        started = time.perf_counter()
        assert await fsm.get_state(key) is None  # dialog state degrades, nothing raises
        await fsm.set_data(key, {"x": 1})
        for i in range(10, 30):
            await st.usage_sink.record(UsageEvent(user_id=i, model="m"))
        fast_path = time.perf_counter() - started
        assert fast_path < OPEN_BREAKER_BOUND * 5  # 22 calls, none waits on the network
        assert st.usage_sink.buffered == 20
        print(  # the figures for the note (pytest -s)
            f"\noutage latency: first call {first * 1000:.0f} ms, open breaker worst "
            f"{worst * 1000:.2f} ms, 22 fsm/sink calls {fast_path * 1000:.1f} ms"
        )

        await proc.astart()  # same directory, same port
        assert await st.breaker.wait_available(timeout=30)
        assert (await st.users.get(1)).username == "alice"  # type: ignore[union-attr]
        # The FSM storage has a client of its own: it finds the restarted server on its
        # own schedule (pymongo's monitor), and until then a read degrades to "no state".
        # Its state is back once it does, without a restart of the bot.
        state = None
        for _ in range(100):
            state = await fsm.get_state(key)
            if state is not None:
                break
            await asyncio.sleep(0.1)
        assert state == "Dialog:pick"
        assert await st.usage_sink.flush(timeout=30)
        assert (st.usage_sink.written, st.usage_sink.dropped) == (30, 0)
        assert await st.usage.count() == 30
        assert st.breaker.trips == 1
    finally:
        await fsm.close()
        await st.close()
        await proc.astop()
