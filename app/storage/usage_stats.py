"""The figures /stats shows, read from the daily rollups only: their cost depends on the
number of days, users and models in the window, never on the number of usage records.

Totals merge one latency histogram per day. A closed day's histogram changes only when a
late record arrives (a buffered write after an outage, a rebuild), so each day's histogram
is kept merged into dense lists and reused while the day's sums are unchanged: a /stats
read then fetches the histograms of the days that changed (usually today) and adds up
fixed-size lists, whatever the number of records behind them."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from app.storage.base import UsageRepository
from app.storage.histograms import FlatHistogram
from app.storage.models import DayUsage, KindUsage, ModelUsage, RollupTotals, StatsWindow, UserUsage
from app.storage.rollups import (
    BUCKET_FIELDS,
    Rollup,
    merge_per_day,
    merge_per_day_by_kind,
    merge_per_kind,
    merge_per_model,
    merge_per_user,
    merge_totals,
)
from llmdoor import CallKind

#: Day histograms kept merged (one per day and user seen in /stats); the oldest go first.
MAX_CACHED_DAYS = 20_000

_Version = tuple[float, ...]


def _version(r: Rollup) -> _Version:
    return tuple(getattr(r, name) for name in BUCKET_FIELDS)


class _DenseDay:
    __slots__ = ("lat", "ttft", "version")

    def __init__(self, r: Rollup) -> None:
        self.version = _version(r)
        self.lat = FlatHistogram()
        self.lat.merge(r.latency_hist)
        self.ttft = FlatHistogram()
        self.ttft.merge(r.ttft_hist)


def _added(hists: list[FlatHistogram]) -> FlatHistogram:
    out = FlatHistogram()
    if hists:
        out.counts = [sum(c) for c in zip(*(h.counts for h in hists), strict=True)]
        out.sums = [sum(s) for s in zip(*(h.sums for h in hists), strict=True)]
    return out


class RollupStats:
    """Windows are whole UTC days (a window starting mid-day counts that whole day)."""

    def __init__(self, usage: UsageRepository, retention_days: int | None = None) -> None:
        self._usage = usage
        #: How many days raw records (recent errors, CSV export) are kept; None: forever.
        self.retention_days = retention_days
        self._days: OrderedDict[str, _DenseDay] = OrderedDict()

    async def totals(
        self, window: StatsWindow | None = None, *, user_id: int | None = None
    ) -> RollupTotals:
        heads = await self._usage.histogram_rollups(window, user_id=user_id, histograms=False)
        stale = {r.day for r in heads if self._cached(r) is None}
        if stale:
            for r in await self._usage.histogram_rollups(window, user_id=user_id, days=stale):
                self._days[r.key] = _DenseDay(r)
                self._days.move_to_end(r.key)
            while len(self._days) > MAX_CACHED_DAYS:
                self._days.popitem(last=False)
        dense = [d for d in (self._cached(r) for r in heads) if d is not None]
        if len(dense) != len(heads):
            # A day changed between the two reads: merge everything from the rollups.
            return merge_totals(await self._usage.histogram_rollups(window, user_id=user_id))
        sums = merge_totals(
            r.model_copy(update={"latency_hist": {}, "ttft_hist": {}}) for r in heads
        )
        lat = _added([d.lat for d in dense]).percentiles(0.5, 0.95)
        ttft = _added([d.ttft for d in dense]).percentiles(0.5, 0.95)
        return sums.model_copy(
            update={
                "latency_p50_ms": lat[0],
                "latency_p95_ms": lat[1],
                "ttft_p50_ms": ttft[0],
                "ttft_p95_ms": ttft[1],
            }
        )

    def _cached(self, r: Rollup) -> _DenseDay | None:
        found = self._days.get(r.key)
        return found if found is not None and found.version == _version(r) else None

    async def per_user(self, window: StatsWindow | None = None, limit: int = 20) -> list[UserUsage]:
        return merge_per_user(await self._usage.rollups(window), limit)

    async def per_model(
        self, window: StatsWindow | None = None, limit: int = 20, *, user_id: int | None = None
    ) -> list[ModelUsage]:
        return merge_per_model(await self._usage.rollups(window, user_id=user_id), limit)

    async def per_day(
        self, window: StatsWindow | None = None, *, user_id: int | None = None
    ) -> list[DayUsage]:
        return merge_per_day(await self._usage.rollups(window, user_id=user_id))

    async def per_kind(
        self, window: StatsWindow | None = None, *, user_id: int | None = None
    ) -> list[KindUsage]:
        """Chat, transcription, speech, image, document: one row per kind with usage."""
        return merge_per_kind(await self._usage.rollups(window, user_id=user_id))

    async def per_day_by_kind(
        self, window: StatsWindow | None = None, *, user_id: int | None = None
    ) -> dict[CallKind, list[DayUsage]]:
        return merge_per_day_by_kind(await self._usage.rollups(window, user_id=user_id))

    async def detail_since(self) -> datetime | None:
        """The oldest raw record still stored (None: none)."""
        return await self._usage.oldest_record_at()
