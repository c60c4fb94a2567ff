"""Usage records in memory, time-ordered, so every query touches only its window.

Records are stored as compact tuples (a million pydantic models would cost gigabytes) in a
list sorted by creation time, with a parallel list of millisecond timestamps for ``bisect``.
Appends in time order are O(1); a late event is inserted in place.
"""

from __future__ import annotations

import bisect
import calendar
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from app.storage.base import (
    COST_DECIMALS,
    DayUsage,
    ModelUsage,
    StatsWindow,
    UsageBucket,
    UsageRecord,
    UsageTotals,
    UserUsage,
    nearest_rank,
    utc_ms,
)
from app.storage.durable_sink import to_record
from app.storage.rollups import LEVELS, Level, Rollup, add_to, build, day_range, record_day
from llmdoor import UsageEvent

# A row is a plain tuple of every UsageRecord field, in declaration order, with created_at
# held as int milliseconds. Built from the model's fields, so a field added to UsageEvent
# is stored without touching this module.
_FIELDS: tuple[str, ...] = tuple(UsageRecord.model_fields)
_POS = {name: i for i, name in enumerate(_FIELDS)}
TS, ID, USER, MODEL = _POS["created_at"], _POS["id"], _POS["user_id"], _POS["model"]
PT, CT, COST = _POS["prompt_tokens"], _POS["completion_tokens"], _POS["cost_usd"]
LAT, OUTCOME = _POS["latency_ms"], _POS["outcome"]
FALLBACK = _POS["cost_fallback"]

_Row = tuple[Any, ...]


def _ms(dt: datetime) -> int:
    dt = utc_ms(dt)
    return calendar.timegm(dt.utctimetuple()) * 1000 + dt.microsecond // 1000


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=(ms % 1000) * 1000)


def _row(rec: UsageRecord) -> _Row:
    values = [getattr(rec, name) for name in _FIELDS]
    values[TS] = _ms(rec.created_at)
    return tuple(values)


def _record(row: _Row) -> UsageRecord:
    data = dict(zip(_FIELDS, row, strict=True))
    data["created_at"] = _dt(row[TS])
    return UsageRecord.model_construct(**data)


class _Acc:
    """One group's running sums; mirrors the MongoDB $group stage."""

    __slots__ = ("completion", "cost", "errors", "fallback", "prompt", "requests", "unpriced")

    def __init__(self) -> None:
        self.requests = self.errors = self.prompt = self.completion = self.unpriced = 0
        self.fallback = 0
        self.cost = 0.0

    def add(self, r: _Row) -> None:
        self.requests += 1
        if r[OUTCOME] != "ok":
            self.errors += 1
        self.prompt += r[PT]
        self.completion += r[CT]
        if r[FALLBACK]:
            self.fallback += 1
        if r[COST] is None:
            self.unpriced += 1
        else:
            self.cost += r[COST]

    def fields(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "prompt_tokens": self.prompt,
            "completion_tokens": self.completion,
            "cost_usd": round(self.cost, COST_DECIMALS),
            "unpriced_requests": self.unpriced,
            "fallback_priced_requests": self.fallback,
        }


def _rank_key(b: UsageBucket) -> tuple[float, int]:
    return (-b.cost_usd, -b.requests)


class MemoryUsageRepository:
    def __init__(self, retention_days: int | None = None) -> None:
        self._ts: list[int] = []
        self._rows: list[_Row] = []
        self._ids: set[str] = set()
        # Rollups per level, by day, then by key; kept forever, whatever the rows' retention.
        self._levels: dict[Level, dict[date, dict[str, Rollup]]] = {lv: {} for lv in LEVELS}
        self._retention = retention_days

    # ------------------------------------------------------------------ retention

    def _expire(self) -> None:
        """Drop rows past the retention (MongoDB's TTL index does it in the background)."""
        if self._retention is None or not self._ts:
            return
        cutoff = _ms(datetime.now(UTC) - timedelta(days=self._retention))
        if self._ts[0] >= cutoff:
            return
        n = bisect.bisect_left(self._ts, cutoff)
        for r in self._rows[:n]:
            self._ids.discard(r[ID])
        del self._ts[:n], self._rows[:n]

    # ------------------------------------------------------------------ writes

    def _roll(self, rec: UsageRecord) -> None:
        day = record_day(rec)
        for level, by_day in self._levels.items():
            add_to(by_day.setdefault(day, {}), rec, level)

    def _insert(self, rec: UsageRecord) -> None:
        if rec.id in self._ids:
            return  # idempotent: a retried write that had landed
        row = _row(rec)
        self._ids.add(rec.id)
        self._roll(rec)
        if not self._ts or row[TS] >= self._ts[-1]:
            self._ts.append(row[TS])
            self._rows.append(row)
        else:
            i = bisect.bisect_right(self._ts, row[TS])
            self._ts.insert(i, row[TS])
            self._rows.insert(i, row)

    async def add(self, event: UsageEvent) -> UsageRecord:
        rec = to_record(event)
        self._insert(rec)
        return rec.model_copy(update={"created_at": utc_ms(rec.created_at)})

    async def add_many(self, events: Sequence[UsageEvent]) -> int:
        for event in events:
            self._insert(to_record(event))
        return len(events)

    # ------------------------------------------------------------------ rollups

    def _read(
        self,
        level: Level,
        window: StatsWindow | None,
        user_id: int | None,
        days: Collection[date] | None = None,
    ) -> list[Rollup]:
        first, last = day_range(window)
        out: list[Rollup] = []
        for day, group in self._levels[level].items():
            if (first is not None and day < first) or (last is not None and day >= last):
                continue
            if days is not None and day not in days:
                continue
            out.extend(r for r in group.values() if user_id is None or r.user_id == user_id)
        return out  # the live objects, not copies: callers only read them (merge_*)

    async def rollups(
        self, window: StatsWindow | None = None, *, user_id: int | None = None
    ) -> list[Rollup]:
        return self._read("model", window, user_id)

    async def histogram_rollups(
        self,
        window: StatsWindow | None = None,
        *,
        user_id: int | None = None,
        histograms: bool = True,
        days: Collection[date] | None = None,
    ) -> list[Rollup]:
        # In memory the histograms cost nothing to hand over: ``histograms`` is moot.
        if user_id is None:
            return self._read("day", window, None, days)
        return self._read("user", window, user_id, days)

    async def rebuild_rollups(self) -> int:
        """Recompute the rollups of the days the rows still cover (see app.ops)."""
        self._expire()
        if not self._rows:
            return 0
        first = _dt(self._rows[0][TS]).date()
        if self._retention is not None:
            # the first day may be cut by the retention: its rollups are the only full copy
            first = date.fromordinal(first.toordinal() + 1)
        recs = [r for r in map(_record, self._rows) if record_day(r) >= first]
        written = 0
        for level, by_day in self._levels.items():
            for day in [d for d in by_day if d >= first]:
                del by_day[day]
            fresh = build(recs, level)
            for rollup in fresh.values():
                by_day.setdefault(rollup.day, {})[rollup.key] = rollup
            written += len(fresh) if level == "model" else 0
        return written

    async def oldest_record_at(self) -> datetime | None:
        self._expire()
        return _dt(self._ts[0]) if self._ts else None

    # ------------------------------------------------------------------ reads

    def _window(self, window: StatsWindow | None, user_id: int | None = None) -> Iterable[_Row]:
        self._expire()
        lo, hi = 0, len(self._rows)
        if window is not None and window.since is not None:
            lo = bisect.bisect_left(self._ts, _ms(window.since))
        if window is not None and window.until is not None:
            hi = bisect.bisect_left(self._ts, _ms(window.until))
        rows = self._rows
        if user_id is None:
            return (rows[i] for i in range(lo, hi))
        return (rows[i] for i in range(lo, hi) if rows[i][USER] == user_id)

    async def count(self, window: StatsWindow | None = None) -> int:
        self._expire()
        lo, hi = 0, len(self._rows)
        if window is not None and window.since is not None:
            lo = bisect.bisect_left(self._ts, _ms(window.since))
        if window is not None and window.until is not None:
            hi = bisect.bisect_left(self._ts, _ms(window.until))
        return max(0, hi - lo)

    async def totals(
        self, window: StatsWindow | None = None, *, user_id: int | None = None
    ) -> UsageTotals:
        acc = _Acc()
        latencies: list[float] = []
        for r in self._window(window, user_id):
            acc.add(r)
            latencies.append(r[LAT])
        latencies.sort()
        return UsageTotals(
            **acc.fields(),
            latency_p50_ms=nearest_rank(latencies, 0.5),
            latency_p95_ms=nearest_rank(latencies, 0.95),
        )

    def _group(self, rows: Iterable[_Row], key: Callable[[_Row], Any]) -> dict[Any, _Acc]:
        groups: dict[Any, _Acc] = {}
        for r in rows:
            k = key(r)
            acc = groups.get(k)
            if acc is None:
                acc = groups[k] = _Acc()
            acc.add(r)
        return groups

    async def per_user(self, window: StatsWindow | None = None, limit: int = 20) -> list[UserUsage]:
        groups = self._group(self._window(window), lambda r: r[USER])
        out = [UserUsage(user_id=k, **a.fields()) for k, a in groups.items()]
        # user_id asc with None first, as MongoDB sorts null before numbers
        out.sort(key=lambda u: (*_rank_key(u), u.user_id is not None, u.user_id or 0))
        return out[:limit]

    async def per_model(
        self, window: StatsWindow | None = None, limit: int = 20, *, user_id: int | None = None
    ) -> list[ModelUsage]:
        groups = self._group(self._window(window, user_id), lambda r: r[MODEL])
        out = [ModelUsage(model=k, **a.fields()) for k, a in groups.items()]
        out.sort(key=lambda m: (*_rank_key(m), m.model))
        return out[:limit]

    async def per_day(
        self, window: StatsWindow | None = None, *, user_id: int | None = None
    ) -> list[DayUsage]:
        day_ms = 86_400_000
        groups = self._group(self._window(window, user_id), lambda r: r[TS] // day_ms)
        return [
            DayUsage(day=_dt(k * day_ms).date(), **a.fields()) for k, a in sorted(groups.items())
        ]

    async def recent_errors(
        self, window: StatsWindow | None = None, *, user_id: int | None = None, limit: int = 20
    ) -> list[UsageRecord]:
        rows = [r for r in self._window(window, user_id) if r[OUTCOME] != "ok"]
        # newest first; ties on time broken by id desc, as the MongoDB sort does
        rows.sort(key=lambda r: (r[TS], r[ID]), reverse=True)
        return [_record(r) for r in rows[:limit]]

    async def cost_since(self, user_id: int, since: datetime) -> float:
        total = 0.0
        for r in self._window(StatsWindow(since=since), user_id):
            if r[COST] is not None:
                total += r[COST]
        return round(total, COST_DECIMALS)

    async def iter_records(
        self, window: StatsWindow | None = None, *, user_id: int | None = None
    ) -> AsyncIterator[UsageRecord]:
        # Snapshot the window's rows (tuples, cheap) so concurrent inserts can't shift them.
        rows = list(self._window(window, user_id))
        rows.sort(key=lambda r: (r[TS], r[ID]))  # ties by id, as MongoDB's sort; near-linear
        for r in rows:
            yield _record(r)
