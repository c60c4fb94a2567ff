"""Daily usage rollups: what both backends keep per UTC day, and how rollups are merged into
the figures /stats shows.

Three levels, each updated with every usage record (one ``$inc`` each on MongoDB): per
(day, user, model, kind) with the sums only, so its documents have a fixed size; per
(day, user, kind) and per (day, kind) with fixed log-bucket histograms of latency and time
to first token, so that percentiles of any window come from merged histograms (one per
day). Reading a window costs O(days x users x models), whatever the number of records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import Field

from app.storage.histograms import FlatHistogram, Histogram, bucket_of
from app.storage.models import (
    COST_DECIMALS,
    DayUsage,
    KindUsage,
    ModelUsage,
    RollupTotals,
    StatsWindow,
    UsageBucket,
    UsageRecord,
    UserUsage,
)
from llmdoor import CallKind

Level = Literal["model", "user", "day"]

#: The sums every rollup carries (and /stats adds up).
BUCKET_FIELDS: tuple[str, ...] = tuple(UsageBucket.model_fields)

#: Stands for "all models" / "all users" in the keys of the coarser rollups.
ALL = "*"
LEVELS: tuple[Level, ...] = ("model", "user", "day")


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class Rollup(UsageBucket):
    """One (UTC day, user, model, kind) group's sums (the UsageBucket fields)."""

    day: date
    user_id: int | None
    model: str
    kind: CallKind = CallKind.CHAT
    # "model": per (day, user, model, kind), no histograms (fixed-size documents);
    # "user": per (day, user, kind), "day": per (day, kind), both with the histograms.
    level: Level = "model"
    latency_hist: Histogram = Field(default_factory=dict)
    ttft_hist: Histogram = Field(default_factory=dict)

    @property
    def key(self) -> str:
        return level_key(self.level, self.day, self.user_id, self.model, self.kind)


def rollup_key(day: date, user_id: int | None, model: str, kind: CallKind) -> str:
    return f"{day.isoformat()}|{'-' if user_id is None else user_id}|{kind}|{model}"


def increments(rec: UsageRecord, *, histograms: bool = True) -> dict[str, float | int]:
    """What one record adds to its rollup, as flat ``$inc`` paths."""
    inc: dict[str, float | int] = {
        "requests": 1,
        "errors": 0 if rec.outcome == "ok" else 1,
        "prompt_tokens": rec.prompt_tokens,
        "completion_tokens": rec.completion_tokens,
        "cost_usd": rec.cost_usd if rec.cost_usd is not None else 0.0,
        "unpriced_requests": 1 if rec.cost_usd is None else 0,
        "fallback_priced_requests": 1 if rec.cost_fallback else 0,
    }
    if not histograms:
        return inc
    lat = bucket_of(rec.latency_ms)
    inc[f"latency_hist.{lat}.n"] = 1
    inc[f"latency_hist.{lat}.s"] = float(rec.latency_ms)
    if rec.ttft_ms is not None:
        ttft = bucket_of(rec.ttft_ms)
        inc[f"ttft_hist.{ttft}.n"] = 1
        inc[f"ttft_hist.{ttft}.s"] = float(rec.ttft_ms)
    return inc


def record_day(rec: UsageRecord) -> date:
    return rec.created_at.astimezone(UTC).date()


def apply(target: Rollup, inc: Mapping[str, float | int]) -> None:
    """The in-memory ``$inc``."""
    for path, amount in inc.items():
        if "." in path:
            field, index, part = path.split(".")
            hist: Histogram = getattr(target, field)
            cell = hist.setdefault(index, {"n": 0, "s": 0.0})
            cell[part] += amount
        else:
            setattr(target, path, getattr(target, path) + amount)


def day_range(window: StatsWindow | None) -> tuple[date | None, date | None]:
    """The days a window covers: [first, last). Windows of /stats start at UTC midnight; a
    window starting mid-day includes that whole day (rollups have no finer grain)."""
    if window is None:
        return None, None
    first = window.since.astimezone(UTC).date() if window.since is not None else None
    last: date | None = None
    if window.until is not None:
        until = window.until.astimezone(UTC)
        last = until.date()
        if until != day_start(last):  # a partial last day is included
            last = date.fromordinal(last.toordinal() + 1)
    return first, last


# ---------------------------------------------------------------------------- merging


class _Sum:
    __slots__ = ("fields", "lat", "ttft")

    def __init__(self) -> None:
        self.fields: dict[str, Any] = UsageBucket().model_dump()
        self.lat = FlatHistogram()
        self.ttft = FlatHistogram()

    def add(self, r: Rollup, *, hists: bool = False) -> None:
        f = self.fields
        for name in BUCKET_FIELDS:
            f[name] += getattr(r, name)
        if hists:
            self.lat.merge(r.latency_hist)
            self.ttft.merge(r.ttft_hist)

    def bucket(self) -> dict[str, Any]:
        return self.fields | {"cost_usd": round(self.fields["cost_usd"], COST_DECIMALS)}


def merge_totals(rollups: Iterable[Rollup]) -> RollupTotals:
    acc = _Sum()
    for r in rollups:
        acc.add(r, hists=True)
    lat50, lat95 = acc.lat.percentiles(0.5, 0.95)
    ttft50, ttft95 = acc.ttft.percentiles(0.5, 0.95)
    return RollupTotals(
        **acc.bucket(),
        latency_p50_ms=lat50,
        latency_p95_ms=lat95,
        ttft_p50_ms=ttft50,
        ttft_p95_ms=ttft95,
    )


def _grouped(rollups: Iterable[Rollup], key: Any) -> dict[Any, _Sum]:
    groups: dict[Any, _Sum] = {}
    for r in rollups:
        k = key(r)
        acc = groups.get(k)
        if acc is None:
            acc = groups[k] = _Sum()
        acc.add(r)
    return groups


def merge_per_user(rollups: Iterable[Rollup], limit: int) -> list[UserUsage]:
    out = [
        UserUsage(user_id=k, **a.bucket())
        for k, a in _grouped(rollups, lambda r: r.user_id).items()
    ]
    out.sort(key=lambda u: (-u.cost_usd, -u.requests, u.user_id is not None, u.user_id or 0))
    return out[:limit]


def merge_per_model(rollups: Iterable[Rollup], limit: int) -> list[ModelUsage]:
    out = [
        ModelUsage(model=k, **a.bucket()) for k, a in _grouped(rollups, lambda r: r.model).items()
    ]
    out.sort(key=lambda m: (-m.cost_usd, -m.requests, m.model))
    return out[:limit]


def merge_per_day(rollups: Iterable[Rollup]) -> list[DayUsage]:
    groups = _grouped(rollups, lambda r: r.day)
    return [DayUsage(day=k, **a.bucket()) for k, a in sorted(groups.items())]


#: The kinds of call in the order /stats lists them: CallKind's own.
KIND_ORDER: tuple[CallKind, ...] = tuple(CallKind)


def _kind_rank(kind: CallKind) -> int:
    return KIND_ORDER.index(kind)


def merge_per_kind(rollups: Iterable[Rollup]) -> list[KindUsage]:
    out = [KindUsage(kind=k, **a.bucket()) for k, a in _grouped(rollups, lambda r: r.kind).items()]
    out.sort(key=lambda k: _kind_rank(k.kind))
    return out


def merge_per_day_by_kind(rollups: Iterable[Rollup]) -> dict[CallKind, list[DayUsage]]:
    """Per kind (in KIND_ORDER), its days: the chart stacks the kinds."""
    by_kind: dict[CallKind, list[Rollup]] = {}
    for r in rollups:
        by_kind.setdefault(r.kind, []).append(r)
    return {k: merge_per_day(by_kind[k]) for k in sorted(by_kind, key=_kind_rank)}


def level_key(level: Level, day: date, user_id: int | None, model: str, kind: CallKind) -> str:
    if level == "day":
        return f"{day.isoformat()}|{ALL}|{kind}"
    if level == "user":
        return rollup_key(day, user_id, ALL, kind)
    return rollup_key(day, user_id, model, kind)


def identity(rec: UsageRecord, level: Level) -> tuple[str, int | None, str]:
    """(key, user_id, model) of the rollup ``rec`` goes to at ``level``."""
    day = record_day(rec)
    user_id = None if level == "day" else rec.user_id
    model = rec.model if level == "model" else ALL
    return level_key(level, day, user_id, model, rec.kind), user_id, model


def add_to(out: dict[str, Rollup], rec: UsageRecord, level: Level = "model") -> None:
    key, user_id, model = identity(rec, level)
    target = out.get(key)
    if target is None:
        target = out[key] = Rollup(
            day=record_day(rec), user_id=user_id, model=model, kind=rec.kind, level=level
        )
    apply(target, increments(rec, histograms=level != "model"))


def build(records: Iterable[UsageRecord], level: Level = "model") -> dict[str, Rollup]:
    """Rollups computed from scratch (the rebuild tool, and the contract tests)."""
    out: dict[str, Rollup] = {}
    for rec in records:
        add_to(out, rec, level)
    return out
