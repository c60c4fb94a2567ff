"""Usage per kind of call (CallKind: chat, transcription, speech, image, document) on every
backend: /stats lists the kinds in a fixed order, per window and per user, from the rollups,
the per-kind days add up to the days the chart shows, and every kind the provider records
is stored and read back as the same member."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from app.storage import StatsWindow, Storage, open_storage
from app.storage.mongo.rollups import COLLECTIONS
from llmdoor.usage import CallKind, UsageEvent

START = datetime(2026, 11, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def event(kind: str, user: int, cost: float, day: int, outcome: str = "ok") -> UsageEvent:
    return UsageEvent(
        user_id=user,
        model=f"m-{kind}",
        cost_usd=cost,
        kind=kind,
        outcome=outcome,  # type: ignore[arg-type]
        latency_ms=100.0,
        created_at=START + day * DAY + timedelta(hours=1),
    )


EVENTS = [
    event("image", 1, 0.04, 0),
    event("chat", 1, 0.01, 0),
    event("transcription", 2, 0.002, 1),
    event("document", 2, 0.0, 1, outcome="error"),
    event("speech", 1, 0.003, 2),
    event("chat", 2, 0.02, 2),
    event("chat", 1, 0.01, 3),
]


async def test_per_kind_in_order_per_window_and_user(storage: Storage) -> None:
    await storage.usage.add_many(EVENTS)
    rows = await storage.stats.per_kind()
    assert [(r.kind, r.requests, r.errors) for r in rows] == [
        ("chat", 3, 0),
        ("transcription", 1, 0),
        ("speech", 1, 0),
        ("image", 1, 0),
        ("document", 1, 1),
    ]
    assert rows[0].cost_usd == 0.04
    window = StatsWindow(since=START + 2 * DAY)
    assert [(r.kind, r.requests) for r in await storage.stats.per_kind(window)] == [
        ("chat", 2),
        ("speech", 1),
    ]
    mine = await storage.stats.per_kind(user_id=2)
    assert [r.kind for r in mine] == ["chat", "transcription", "document"]


async def test_days_by_kind_add_up_to_the_days(storage: Storage) -> None:
    await storage.usage.add_many(EVENTS)
    days = {d.day: d.requests for d in await storage.stats.per_day()}
    by_kind = await storage.stats.per_day_by_kind()
    assert list(by_kind) == ["chat", "transcription", "speech", "image", "document"]
    summed: dict[object, int] = {}
    for rows in by_kind.values():
        for d in rows:
            summed[d.day] = summed.get(d.day, 0) + d.requests
    assert summed == days


async def test_every_call_kind_round_trips(storage: Storage) -> None:
    """The provider's kinds are the kinds storage keeps: each CallKind, given as the plain
    string an older record holds, reads back as that member, in CallKind's order."""
    await storage.usage.add_many([event(k.value, 1, 0.01, 0) for k in reversed(CallKind)])
    records = [r async for r in storage.usage.iter_records()]
    assert sorted(r.kind for r in records) == sorted(CallKind)
    assert all(type(r.kind) is CallKind for r in records)
    rows = await storage.stats.per_kind()
    assert [r.kind for r in rows] == list(CallKind)
    assert all(type(r.kind) is CallKind for r in rows)
    assert list(await storage.stats.per_day_by_kind()) == list(CallKind)


@pytest.mark.mongodb
async def test_mongodb_stores_kinds_as_plain_strings(mongo: Any, scratch_db: str) -> None:
    """Documents keep the bare values ("speech"), and documents written before CallKind
    (or without a kind at all) read back as its members."""
    st = await open_storage(mongo.uri, db_name=scratch_db)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.uri)
    try:
        await st.usage.add_many([event(k.value, 1, 0.01, 0) for k in CallKind])
        db = client[scratch_db]
        for name in ("usage", *COLLECTIONS.values()):
            kinds = [raw["kind"] async for raw in db[name].find({}, {"kind": 1})]
            assert sorted(kinds) == sorted(k.value for k in CallKind), name
            assert all(type(k) is str for k in kinds), name
        old = {"user_id": 7, "model": "m-old", "created_at": START + 5 * DAY, "rolled": True}
        await db["usage"].insert_many([{**old, "kind": "speech"}, dict(old)])
        late = StatsWindow(since=START + 5 * DAY)
        kinds = [r.kind async for r in st.usage.iter_records(late)]
        assert sorted(kinds) == [CallKind.CHAT, CallKind.SPEECH]
        assert all(type(k) is CallKind for k in kinds)
    finally:
        await client.close()
        await st.close()
