"""Rollup contract: on every backend, the daily rollups (``storage.stats``) give the same
figures as the raw-record aggregations on the same data; they survive an outage, rebuild
idempotently, and outlive the raw records' retention."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.storage import StatsWindow, Storage, open_memory_storage
from app.storage.errors import StorageUnavailable
from app.storage.histograms import MAX_RELATIVE_ERROR
from llmdoor.usage import UsageEvent
from tests.storage import usage_fixture as fx

START = datetime(2026, 10, 1, tzinfo=UTC)
DAY = timedelta(days=1)
WINDOWS = [
    None,
    StatsWindow(since=START + 3 * DAY),
    StatsWindow(since=START + 2 * DAY, until=START + 5 * DAY),
]


def random_events(n: int, seed: int = 11) -> list[UsageEvent]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        outcome = rnd.choice(["ok"] * 8 + ["error", "partial"])
        out.append(
            UsageEvent(
                user_id=rnd.choice([None, 1, 2, 3, 4]),
                model=rnd.choice(["m-a", "m-b", "m-c"]),
                prompt_tokens=rnd.randrange(0, 3000),
                completion_tokens=rnd.randrange(0, 1500),
                cost_usd=None if rnd.random() < 0.1 else round(rnd.random() / 50, 6),
                cost_fallback=rnd.random() < 0.2,
                latency_ms=rnd.lognormvariate(6.5, 0.8),
                ttft_ms=rnd.lognormvariate(5, 0.5) if rnd.random() < 0.7 else None,
                outcome=outcome,  # type: ignore[arg-type]
                created_at=START + timedelta(seconds=rnd.randrange(0, 7 * 86_400)),
            )
        )
    return out


def _scalars(b: Any) -> dict[str, Any]:
    data = b.model_dump()
    for key in ("latency_p50_ms", "latency_p95_ms", "ttft_p50_ms", "ttft_p95_ms"):
        data.pop(key, None)
    return data


def _close(approx: float | None, exact: float | None) -> bool:
    if approx is None or exact is None:
        return approx == exact
    return abs(approx - exact) <= MAX_RELATIVE_ERROR * exact + 1e-9


async def assert_rollups_match_raw(st: Storage, user_ids: list[int | None]) -> None:
    for window in WINDOWS:
        raw, rolled = await st.usage.totals(window), await st.stats.totals(window)
        assert _scalars(rolled) == _scalars(raw), window
        assert _close(rolled.latency_p50_ms, raw.latency_p50_ms)
        assert _close(rolled.latency_p95_ms, raw.latency_p95_ms)
        assert [_scalars(u) for u in await st.stats.per_user(window, limit=50)] == [
            _scalars(u) for u in await st.usage.per_user(window, limit=50)
        ]
        assert [_scalars(m) for m in await st.stats.per_model(window)] == [
            _scalars(m) for m in await st.usage.per_model(window)
        ]
        assert [_scalars(d) for d in await st.stats.per_day(window)] == [
            _scalars(d) for d in await st.usage.per_day(window)
        ]
        for uid in user_ids:
            if uid is None:
                continue
            assert _scalars(await st.stats.totals(window, user_id=uid)) == _scalars(
                await st.usage.totals(window, user_id=uid)
            )
            assert [_scalars(m) for m in await st.stats.per_model(window, user_id=uid)] == [
                _scalars(m) for m in await st.usage.per_model(window, user_id=uid)
            ]


async def test_fixture_figures_from_rollups(storage: Storage) -> None:
    evs = fx.events()
    for ev in evs[:5]:
        await storage.usage.add(ev)
    await storage.usage.add_many(evs[5:])
    assert _scalars(await storage.stats.totals()) == _scalars_of(fx.TOTALS_ALL)
    assert [u.model_dump() for u in await storage.stats.per_user()] == fx.PER_USER_ALL
    assert [m.model_dump() for m in await storage.stats.per_model()] == fx.PER_MODEL_ALL
    assert [d.model_dump() for d in await storage.stats.per_day()] == fx.PER_DAY_ALL
    t = await storage.stats.totals()
    # every latency in the fixture is alone in its bucket: the bucket mean is exact
    assert (t.latency_p50_ms, t.latency_p95_ms) == (500.0, 1000.0)


def _scalars_of(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if not k.startswith("latency_")}


async def test_random_data_rollups_equal_raw(storage: Storage) -> None:
    evs = random_events(600)
    for ev in evs[:100]:
        await storage.usage.add(ev)
    await storage.usage.add_many(evs[100:])
    t = await storage.stats.totals()
    assert t.requests == 600
    assert t.fallback_priced_requests == sum(e.cost_fallback for e in evs) > 0
    assert t.ttft_p50_ms is not None
    await assert_rollups_match_raw(storage, [None, 1, 2, 3, 4])


async def test_cached_day_histograms_follow_late_records(storage: Storage) -> None:
    """Totals reuse each day's merged histogram while the day is unchanged; a record that
    arrives late for an old day (a buffered write after an outage) is still counted."""
    from app.storage.usage_stats import RollupStats

    evs = random_events(300, seed=5)
    await storage.usage.add_many(evs)
    first = await storage.stats.totals()
    assert await storage.stats.totals() == first  # served from the cached days
    oldest = min(e.created_at for e in evs)
    late = UsageEvent(
        user_id=1, model="openai/gpt-4o", latency_ms=3_000_000.0, ttft_ms=2_000_000.0,
        created_at=oldest,
    )  # fmt: skip
    for _ in range(40):  # enough very slow calls to move the p95
        await storage.usage.add(late.model_copy())
    cached = await storage.stats.totals()
    fresh = await RollupStats(storage.usage).totals()  # no cache at all
    assert cached == fresh
    assert cached.requests == first.requests + 40
    assert cached.latency_p95_ms is not None and first.latency_p95_ms is not None
    assert cached.latency_p95_ms > first.latency_p95_ms
    week = StatsWindow(since=oldest - timedelta(days=1), until=oldest + timedelta(days=2))
    assert await storage.stats.totals(week) == await RollupStats(storage.usage).totals(week)
    assert await storage.stats.totals(user_id=1) == await RollupStats(storage.usage).totals(
        user_id=1
    )


async def test_rebuild_is_idempotent_and_backfills(storage: Storage) -> None:
    await storage.usage.add_many(random_events(300, seed=3))
    before = await _all_rollups(storage)
    n_model = len(await storage.usage.rollups())
    assert await storage.usage.rebuild_rollups() == n_model
    assert await storage.usage.rebuild_rollups() == n_model
    after = await _all_rollups(storage)
    assert [_json_scalars(a) for a in after] == [_json_scalars(b) for b in before]
    assert len(after) > len(before) // 2  # all three levels were compared
    await assert_rollups_match_raw(storage, [1, 2])


async def _all_rollups(st: Storage) -> list[str]:
    """Every level: per model, per user with histograms, per day with histograms."""
    rollups = await st.usage.rollups() + await st.usage.histogram_rollups()
    for uid in (None, 1, 2, 3, 4):
        if uid is not None:
            rollups += await st.usage.histogram_rollups(user_id=uid)
    return sorted(r.model_dump_json() for r in rollups)


def _json_scalars(text: str) -> str:
    # float sums may differ in the last bit with the order of addition
    import json

    data = json.loads(text)
    data["cost_usd"] = round(data["cost_usd"], 9)
    for hist in (data["latency_hist"], data["ttft_hist"]):
        for cell in hist.values():
            cell["s"] = round(cell["s"], 6)
    return json.dumps(data, sort_keys=True)


async def test_rollups_and_records_agree_after_an_outage(storage: Storage) -> None:
    evs = random_events(120, seed=5)
    for ev in evs[:40]:
        await storage.usage_sink.record(ev)
    storage.breaker.inject_outage()
    for ev in evs[40:90]:
        await storage.usage_sink.record(ev)  # buffered, not lost
    assert storage.usage_sink.buffered == 50
    storage.breaker.clear_outage()
    assert await storage.breaker.probe_now()
    for ev in evs[90:]:
        await storage.usage_sink.record(ev)
    assert await storage.usage_sink.flush(timeout=30)
    assert await storage.usage.count() == 120
    assert (await storage.stats.totals()).requests == 120
    await assert_rollups_match_raw(storage, [1, 2, 3])


@pytest.mark.mongodb
async def test_a_record_stored_but_not_rolled_is_rolled_on_retry(
    mongo: Any, scratch_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record lands, the rollup write fails: the durable sink retries the record and
    the retry bumps the rollup once."""
    from app.storage import open_storage
    from app.storage.mongo import rollups as rollup_store

    st = await open_storage(mongo.uri, db_name=scratch_db)
    try:
        real_roll = rollup_store.roll
        fails = {"left": 1}

        async def flaky_roll(*args: Any, **kwargs: Any) -> None:
            if fails["left"]:
                fails["left"] -= 1
                raise StorageUnavailable("rollup write failed")
            await real_roll(*args, **kwargs)

        monkeypatch.setattr(rollup_store, "roll", flaky_roll)
        evs = random_events(10, seed=9)
        await st.usage_sink.record(evs[0])
        assert st.usage_sink.buffered == 1
        assert await st.breaker.probe_now()  # the failure had opened the breaker
        assert await st.usage.count() == 1  # the record landed
        if st.usage_sink.buffered:  # (unless the retry task was quicker)
            assert (await st.stats.totals()).requests == 0  # its rollup did not
        for ev in evs[1:]:
            await st.usage_sink.record(ev)
        assert await st.usage_sink.flush(timeout=30)
        assert (await st.stats.totals()).requests == 10
        await assert_rollups_match_raw(st, [1, 2])
    finally:
        await st.close()


async def test_memory_retention_drops_records_keeps_rollups() -> None:
    st = open_memory_storage(retention_days=3)
    try:
        now = datetime.now(UTC)
        old = UsageEvent(user_id=1, model="m", cost_usd=0.5, created_at=now - 10 * DAY)
        new = UsageEvent(user_id=1, model="m", cost_usd=0.25, created_at=now)
        await st.usage.add_many([old, new])
        assert await st.usage.count() == 1  # the old record is past the retention
        totals = await st.stats.totals()
        assert (totals.requests, totals.cost_usd) == (2, 0.75)  # rollups are kept
        oldest = await st.stats.detail_since()
        assert oldest is not None and oldest > now - 3 * DAY
        await st.usage.rebuild_rollups()  # must not erase the expired day's rollup
        assert (await st.stats.totals()).requests == 2
    finally:
        await st.close()


@pytest.mark.mongodb
async def test_mongo_retention_is_a_ttl_index(mongo: Any, scratch_db: str) -> None:
    from app.storage import open_storage
    from app.storage.mongo.documents import UsageDoc

    async def created_ttl() -> Any:
        cursor = await UsageDoc.get_pymongo_collection().list_indexes()
        found = {ix["name"]: ix async for ix in cursor}
        return found["created"].get("expireAfterSeconds")

    st = await open_storage(mongo.uri, db_name=scratch_db, retention_days=30)
    assert await created_ttl() == 30 * 86_400
    await st.close()
    st = await open_storage(mongo.uri, db_name=scratch_db)  # back to keep-forever
    assert await created_ttl() is None
    await st.close()
