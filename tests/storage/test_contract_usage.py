"""UsageRepository contract: the same dataset, the same figures, on every backend."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from app.storage import StatsWindow, Storage
from app.storage.durable_sink import to_record
from llmdoor.usage import UsageEvent
from tests.storage import usage_fixture as fx


@pytest.fixture
async def loaded(storage: Storage) -> Storage:
    evs = fx.events()
    # Half one by one, half in a batch, deliberately out of time order.
    for ev in reversed(evs[:5]):
        await storage.usage.add(ev)
    await storage.usage.add_many(list(reversed(evs[5:])))
    return storage


def dump(items: list) -> list[dict]:  # type: ignore[type-arg]
    return [i.model_dump() for i in items]


MID = StatsWindow(since=fx.D0 + fx.DAY, until=fx.D0 + 3 * fx.DAY)


async def test_count(loaded: Storage) -> None:
    assert await loaded.usage.count() == 10
    assert await loaded.usage.count(MID) == 5
    assert await loaded.usage.count(StatsWindow(since=fx.D0 + 3 * fx.DAY)) == 2
    assert await loaded.usage.count(StatsWindow(until=fx.D0 + 2 * fx.H)) == 1


async def test_totals(loaded: Storage) -> None:
    assert (await loaded.usage.totals()).model_dump() == fx.TOTALS_ALL
    assert (await loaded.usage.totals(MID)).model_dump() == fx.TOTALS_MID
    assert (await loaded.usage.totals(user_id=1)).model_dump() == fx.TOTALS_USER1


async def test_totals_of_empty_window(loaded: Storage) -> None:
    empty = await loaded.usage.totals(StatsWindow(since=fx.D0 + 30 * fx.DAY))
    assert empty.model_dump() == fx.bucket(0, 0, 0, 0, 0.0, 0) | {
        "latency_p50_ms": None,
        "latency_p95_ms": None,
    }


async def test_window_is_half_open_at_millisecond_precision(loaded: Storage) -> None:
    last_ms_of_day3 = fx.D0 + 3 * fx.DAY - timedelta(milliseconds=1)
    only_row8 = StatsWindow(since=last_ms_of_day3, until=fx.D0 + 3 * fx.DAY)
    t = await loaded.usage.totals(only_row8)
    assert (t.requests, t.errors, t.unpriced_requests, t.latency_p50_ms) == (1, 1, 1, 800.0)


async def test_per_user(loaded: Storage) -> None:
    assert dump(await loaded.usage.per_user()) == fx.PER_USER_ALL
    assert dump(await loaded.usage.per_user(limit=2)) == fx.PER_USER_ALL[:2]
    mid = await loaded.usage.per_user(MID)
    assert [(u.user_id, u.requests) for u in mid] == [(2, 2), (None, 1), (3, 2)]


async def test_per_user_ties_order_by_requests_then_id(storage: Storage) -> None:
    at = fx.D0
    for uid, n in ((5, 1), (4, 1), (6, 2), (None, 1)):
        for _ in range(n):
            await storage.usage.add(
                UsageEvent(user_id=uid, model="x", cost_usd=None, created_at=at)
            )
    assert [u.user_id for u in await storage.usage.per_user()] == [6, None, 4, 5]


async def test_per_model(loaded: Storage) -> None:
    assert dump(await loaded.usage.per_model()) == fx.PER_MODEL_ALL
    assert dump(await loaded.usage.per_model(user_id=1)) == fx.PER_MODEL_USER1
    assert dump(await loaded.usage.per_model(limit=1)) == fx.PER_MODEL_ALL[:1]


async def test_per_day(loaded: Storage) -> None:
    assert dump(await loaded.usage.per_day()) == fx.PER_DAY_ALL
    assert dump(await loaded.usage.per_day(MID)) == fx.PER_DAY_ALL[1:3]
    days = await loaded.usage.per_day(user_id=3)
    assert [(d.day.day, d.requests) for d in days] == [(3, 2)]


async def test_recent_errors(loaded: Storage) -> None:
    errs = await loaded.usage.recent_errors()
    assert [(e.user_id, e.latency_ms, e.outcome) for e in errs] == [
        (3, 800.0, "error"),
        (2, 500.0, "partial"),
        (1, 300.0, "error"),
    ]
    assert errs[0].created_at == fx.D0 + 3 * fx.DAY - timedelta(milliseconds=1)
    assert [e.latency_ms for e in await loaded.usage.recent_errors(limit=2)] == [800.0, 500.0]
    assert [e.latency_ms for e in await loaded.usage.recent_errors(user_id=1)] == [300.0]
    assert [e.latency_ms for e in await loaded.usage.recent_errors(MID)] == [800.0, 500.0]


async def test_cost_since(loaded: Storage) -> None:
    assert await loaded.usage.cost_since(2, fx.D0 + fx.DAY + 2 * fx.H) == 0.015
    assert await loaded.usage.cost_since(1, fx.D0) == 0.034
    assert await loaded.usage.cost_since(3, fx.D0) == 0.0
    assert await loaded.usage.cost_since(99, fx.D0) == 0.0


async def test_iter_records_streams_in_time_order(loaded: Storage) -> None:
    got = [r async for r in loaded.usage.iter_records()]
    assert [r.latency_ms for r in got] == [row[5] for row in fx.ROWS]
    assert len({r.id for r in got}) == 10
    first = got[0]
    assert (first.user_id, first.model, first.prompt_tokens, first.cost_usd) == (
        1,
        "m-a",
        100,
        0.01,
    )
    assert first.created_at == fx.D0 + fx.H
    mid = [r.latency_ms async for r in loaded.usage.iter_records(MID, user_id=2)]
    assert mid == [400.0, 500.0]


async def test_writes_are_idempotent_by_id(storage: Storage) -> None:
    rec = to_record(UsageEvent(user_id=1, model="x", created_at=fx.D0))
    stored = await storage.usage.add(rec)
    assert stored.id == rec.id
    await storage.usage.add(rec)
    others = [to_record(UsageEvent(user_id=1, model="x", created_at=fx.D0)) for _ in range(3)]
    await storage.usage.add_many([rec, *others])
    await storage.usage.add_many(others)
    assert await storage.usage.count() == 4
    assert await storage.usage.add_many([]) == 0


async def test_concurrent_adds_are_all_counted(storage: Storage) -> None:
    evs = [UsageEvent(user_id=i % 3, model="x", cost_usd=0.001) for i in range(50)]
    await asyncio.gather(*(storage.usage.add(e) for e in evs))
    assert await storage.usage.count() == 50
    assert (await storage.usage.totals()).cost_usd == 0.05


async def test_every_event_field_round_trips(storage: Storage) -> None:
    event = UsageEvent(
        user_id=42, model="openai/gpt-4o", shortcut="gpt", prompt_tokens=11,
        completion_tokens=22, cost_usd=0.123456789, latency_ms=345.5, ttft_ms=12.25,
        outcome="partial", error_kind="stream", streamed=True,
        created_at=fx.D0 + timedelta(microseconds=987_654),
    )  # fmt: skip
    stored = [r async for r in storage.usage.iter_records()]
    assert stored == []
    await storage.usage.add(event)
    (got,) = [r async for r in storage.usage.iter_records()]
    expected = event.model_dump() | {"created_at": fx.D0 + timedelta(microseconds=987_000)}
    assert got.model_dump(exclude={"id"}) == expected
    (err,) = await storage.usage.recent_errors()
    assert err == got


def test_usage_document_covers_every_event_field() -> None:
    from app.storage.mongo.documents import UsageDoc

    assert set(UsageEvent.model_fields) <= set(UsageDoc.model_fields)


async def test_fallback_priced_requests_are_counted_in_every_aggregation(storage: Storage) -> None:
    at = fx.D0
    for fallback, cost in ((True, 0.5), (True, 0.25), (False, 1.0), (False, None)):
        await storage.usage.add(
            UsageEvent(
                user_id=7, model="openai/h", cost_usd=cost, cost_fallback=fallback, created_at=at
            )
        )
    totals = await storage.usage.totals()
    assert (totals.fallback_priced_requests, totals.unpriced_requests) == (2, 1)
    assert totals.cost_usd == 1.75
    (user,) = await storage.usage.per_user()
    (model,) = await storage.usage.per_model()
    (day,) = await storage.usage.per_day()
    assert user.fallback_priced_requests == model.fallback_priced_requests == 2
    assert day.fallback_priced_requests == 2
