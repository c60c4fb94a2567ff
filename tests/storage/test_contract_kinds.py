"""Usage per kind of call (chat, transcription, speech, image, document) on every backend:
/stats lists the kinds in a fixed order, per window and per user, from the rollups, and the
per-kind days add up to the days the chart shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.storage import StatsWindow, Storage
from llmdoor.usage import UsageEvent

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
