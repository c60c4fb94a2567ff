"""A small usage dataset with hand-computed figures; both backends must return exactly these."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from llmdoor.usage import UsageEvent

D0 = datetime(2026, 11, 1, tzinfo=UTC)
H = timedelta(hours=1)
DAY = timedelta(days=1)

# (user, model, prompt, completion, cost, latency, outcome, at)
ROWS: list[tuple[int | None, str, int, int, float | None, float, str, datetime]] = [
    (1, "m-a", 100, 50, 0.010, 100.0, "ok", D0 + 1 * H),
    (1, "m-a", 200, 100, 0.020, 200.0, "ok", D0 + 2 * H),
    (1, "m-b", 10, 0, None, 300.0, "error", D0 + 3 * H),
    (2, "m-b", 300, 150, 0.030, 400.0, "ok", D0 + DAY + 1 * H),
    (2, "m-a", 50, 25, 0.005, 500.0, "partial", D0 + DAY + 2 * H),
    (3, "m-c", 1000, 500, None, 600.0, "ok", D0 + 2 * DAY),
    (None, "m-a", 10, 10, 0.001, 700.0, "ok", D0 + 2 * DAY + 1 * H),
    (3, "m-b", 0, 0, None, 800.0, "error", D0 + 3 * DAY - timedelta(milliseconds=1)),
    (2, "m-a", 100, 100, 0.010, 900.0, "ok", D0 + 3 * DAY),
    (1, "m-c", 40, 60, 0.004, 1000.0, "ok", D0 + 3 * DAY + 12 * H),
]


def events() -> list[UsageEvent]:
    return [
        UsageEvent(
            user_id=u, model=m, prompt_tokens=p, completion_tokens=c, cost_usd=cost,
            latency_ms=lat, outcome=o,  # type: ignore[arg-type]
            error_kind=None if o == "ok" else "server", created_at=at,
        )
        for u, m, p, c, cost, lat, o, at in ROWS
    ]  # fmt: skip


def bucket(req: int, err: int, pt: int, ct: int, cost: float, unpriced: int) -> dict[str, object]:
    return {
        "requests": req,
        "errors": err,
        "prompt_tokens": pt,
        "completion_tokens": ct,
        "cost_usd": cost,
        "unpriced_requests": unpriced,
        "fallback_priced_requests": 0,
    }


TOTALS_ALL = bucket(10, 3, 1810, 995, 0.08, 3) | {"latency_p50_ms": 500.0, "latency_p95_ms": 1000.0}
# since D0+1d (inclusive) until D0+3d (exclusive): rows 4..8
TOTALS_MID = bucket(5, 2, 1360, 685, 0.036, 2) | {"latency_p50_ms": 600.0, "latency_p95_ms": 800.0}
TOTALS_USER1 = bucket(4, 1, 350, 210, 0.034, 1) | {
    "latency_p50_ms": 200.0,
    "latency_p95_ms": 1000.0,
}

PER_USER_ALL = [
    {"user_id": 2} | bucket(3, 1, 450, 275, 0.045, 0),
    {"user_id": 1} | bucket(4, 1, 350, 210, 0.034, 1),
    {"user_id": None} | bucket(1, 0, 10, 10, 0.001, 0),
    {"user_id": 3} | bucket(2, 1, 1000, 500, 0.0, 2),
]
PER_MODEL_ALL = [
    {"model": "m-a"} | bucket(5, 1, 460, 285, 0.046, 0),
    {"model": "m-b"} | bucket(3, 2, 310, 150, 0.03, 2),
    {"model": "m-c"} | bucket(2, 0, 1040, 560, 0.004, 1),
]
PER_MODEL_USER1 = [
    {"model": "m-a"} | bucket(2, 0, 300, 150, 0.03, 0),
    {"model": "m-c"} | bucket(1, 0, 40, 60, 0.004, 0),
    {"model": "m-b"} | bucket(1, 1, 10, 0, 0.0, 1),
]
PER_DAY_ALL = [
    {"day": date(2026, 11, 1)} | bucket(3, 1, 310, 150, 0.03, 1),
    {"day": date(2026, 11, 2)} | bucket(2, 1, 350, 175, 0.035, 0),
    {"day": date(2026, 11, 3)} | bucket(3, 1, 1010, 510, 0.001, 2),
    {"day": date(2026, 11, 4)} | bucket(2, 0, 140, 160, 0.014, 0),
]
