"""Usage records on MongoDB; every figure is an aggregation pipeline run by the server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Collection, Sequence
from datetime import date, datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from app.storage.base import (
    COST_DECIMALS,
    DayUsage,
    ModelUsage,
    StatsWindow,
    UsageRecord,
    UsageTotals,
    UserUsage,
    utc_ms,
)
from app.storage.durable_sink import to_record
from app.storage.mongo import rollups as rollup_store
from app.storage.mongo.documents import UsageDoc
from app.storage.rollups import Rollup
from llmdoor import UsageEvent

Raw = dict[str, Any]
_DUPLICATE_KEY = 11000

# The $group accumulators every usage figure shares (mirrors memory.usage._Acc).
_BUCKET: Raw = {
    "requests": {"$sum": 1},
    "errors": {"$sum": {"$cond": [{"$eq": ["$outcome", "ok"]}, 0, 1]}},
    "prompt_tokens": {"$sum": "$prompt_tokens"},
    "completion_tokens": {"$sum": "$completion_tokens"},
    "cost_usd": {"$sum": "$cost_usd"},  # $sum skips null
    "unpriced_requests": {"$sum": {"$cond": [{"$isNumber": "$cost_usd"}, 0, 1]}},
    # Records written before the field existed have none: not fallback-priced.
    "fallback_priced_requests": {"$sum": {"$cond": [{"$eq": ["$cost_fallback", True]}, 1, 0]}},
}
# Round before sorting, so ties order the same as in the memory backend.
_ROUND_COST: Raw = {"$addFields": {"cost_usd": {"$round": ["$cost_usd", COST_DECIMALS]}}}


def _match(window: StatsWindow | None, user_id: int | None = None) -> Raw:
    query: Raw = {}
    if window is not None:
        span: Raw = {}
        if window.since is not None:
            span["$gte"] = utc_ms(window.since)
        if window.until is not None:
            span["$lt"] = utc_ms(window.until)
        if span:
            query["created_at"] = span
    if user_id is not None:
        query["user_id"] = user_id
    return query


def _bucket(raw: Raw) -> Raw:
    return {
        "requests": int(raw["requests"]),
        "errors": int(raw["errors"]),
        "prompt_tokens": int(raw["prompt_tokens"]),
        "completion_tokens": int(raw["completion_tokens"]),
        "cost_usd": round(float(raw["cost_usd"]), COST_DECIMALS),
        "unpriced_requests": int(raw["unpriced_requests"]),
        "fallback_priced_requests": int(raw.get("fallback_priced_requests", 0)),
    }


def _doc(rec: UsageRecord) -> Raw:
    data = rec.model_dump(exclude={"id"})
    data["_id"] = ObjectId(rec.id)
    data["created_at"] = utc_ms(rec.created_at)
    data["rolled"] = False  # set once its rollup is bumped (see mongo.rollups)
    return data


def _record(raw: Raw) -> UsageRecord:
    data = {k: v for k, v in raw.items() if k not in ("_id", "rolled")}
    return UsageRecord(id=str(raw["_id"]), **data)


class MongoUsageRepository:
    def __init__(self, retention_days: int | None = None) -> None:
        self._col: AsyncCollection[Raw] = UsageDoc.get_pymongo_collection()
        self._rollups = rollup_store.collections(self._col.database)
        self._retention = retention_days

    async def ensure_indexes(self) -> None:
        await rollup_store.ensure_indexes(self._col, self._rollups, self._retention)

    # ------------------------------------------------------------------ writes

    async def add(self, event: UsageEvent) -> UsageRecord:
        rec = to_record(event)
        with contextlib.suppress(DuplicateKeyError):  # a retried write that had landed
            await self._col.insert_one(_doc(rec))
        # A failure here raises: the durable sink retries, and the retry rolls it up.
        await rollup_store.roll(self._col, self._rollups, [rec])
        return rec.model_copy(update={"created_at": utc_ms(rec.created_at)})

    async def add_many(self, events: Sequence[UsageEvent]) -> int:
        if not events:
            return 0
        recs = [to_record(e) for e in events]
        docs = [_doc(rec) for rec in recs]
        try:
            await self._col.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(err.get("code") != _DUPLICATE_KEY for err in errors) or exc.details.get(
                "writeConcernErrors"
            ):
                raise
        await rollup_store.roll(self._col, self._rollups, recs)
        return len(docs)

    # ------------------------------------------------------------------ rollups

    async def rollups(
        self, window: StatsWindow | None = None, *, user_id: int | None = None
    ) -> list[Rollup]:
        return await rollup_store.read(self._rollups["model"], window, user_id)

    async def histogram_rollups(
        self,
        window: StatsWindow | None = None,
        *,
        user_id: int | None = None,
        histograms: bool = True,
        days: Collection[date] | None = None,
    ) -> list[Rollup]:
        collection = self._rollups["day"] if user_id is None else self._rollups["user"]
        return await rollup_store.read(
            collection, window, user_id, histograms=histograms, days=days
        )

    async def rebuild_rollups(self) -> int:
        return await rollup_store.rebuild(self._col, self._rollups, self._retention, _record)

    async def oldest_record_at(self) -> datetime | None:
        raw = await self._col.find_one({}, {"created_at": 1}, sort=[("created_at", ASCENDING)])
        return None if raw is None else utc_ms(raw["created_at"])

    # ------------------------------------------------------------------ reads

    async def _aggregate(self, pipeline: list[Raw]) -> list[Raw]:
        cursor = await self._col.aggregate(pipeline)
        return [raw async for raw in cursor]

    async def count(self, window: StatsWindow | None = None) -> int:
        return await self._col.count_documents(_match(window))

    async def totals(
        self, window: StatsWindow | None = None, *, user_id: int | None = None
    ) -> UsageTotals:
        rows = await self._aggregate(
            [
                {"$match": _match(window, user_id)},
                {
                    "$group": {
                        "_id": None,
                        **_BUCKET,
                        "latency": {
                            "$percentile": {
                                "input": "$latency_ms",
                                "p": [0.5, 0.95],
                                "method": "approximate",
                            }
                        },
                    }
                },
            ]
        )
        if not rows:
            return UsageTotals()
        raw = rows[0]
        p50, p95 = raw["latency"]
        return UsageTotals(
            **_bucket(raw),
            latency_p50_ms=None if p50 is None else float(p50),
            latency_p95_ms=None if p95 is None else float(p95),
        )

    async def per_user(self, window: StatsWindow | None = None, limit: int = 20) -> list[UserUsage]:
        rows = await self._aggregate(
            [
                {"$match": _match(window)},
                {"$group": {"_id": "$user_id", **_BUCKET}},
                _ROUND_COST,
                {"$sort": {"cost_usd": -1, "requests": -1, "_id": 1}},
                {"$limit": limit},
            ]
        )
        return [UserUsage(user_id=raw["_id"], **_bucket(raw)) for raw in rows]

    async def per_model(
        self, window: StatsWindow | None = None, limit: int = 20, *, user_id: int | None = None
    ) -> list[ModelUsage]:
        rows = await self._aggregate(
            [
                {"$match": _match(window, user_id)},
                {"$group": {"_id": "$model", **_BUCKET}},
                _ROUND_COST,
                {"$sort": {"cost_usd": -1, "requests": -1, "_id": 1}},
                {"$limit": limit},
            ]
        )
        return [ModelUsage(model=raw["_id"], **_bucket(raw)) for raw in rows]

    async def per_day(
        self, window: StatsWindow | None = None, *, user_id: int | None = None
    ) -> list[DayUsage]:
        day = {"$dateToString": {"format": "%Y-%m-%d", "date": "$created_at", "timezone": "UTC"}}
        rows = await self._aggregate(
            [
                {"$match": _match(window, user_id)},
                {"$group": {"_id": day, **_BUCKET}},
                {"$sort": {"_id": 1}},
            ]
        )
        return [DayUsage(day=date.fromisoformat(raw["_id"]), **_bucket(raw)) for raw in rows]

    async def recent_errors(
        self, window: StatsWindow | None = None, *, user_id: int | None = None, limit: int = 20
    ) -> list[UsageRecord]:
        query = _match(window, user_id) | {"outcome": {"$ne": "ok"}}
        cursor = (
            self._col.find(query)
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
        )
        return [_record(raw) async for raw in cursor]

    async def cost_since(self, user_id: int, since: datetime) -> float:
        rows = await self._aggregate(
            [
                {"$match": _match(StatsWindow(since=since), user_id)},
                {"$group": {"_id": None, "cost": {"$sum": "$cost_usd"}}},
            ]
        )
        return round(float(rows[0]["cost"]), COST_DECIMALS) if rows else 0.0

    async def iter_records(
        self, window: StatsWindow | None = None, *, user_id: int | None = None
    ) -> AsyncIterator[UsageRecord]:
        cursor = (
            self._col.find(_match(window, user_id))
            .sort([("created_at", ASCENDING), ("_id", ASCENDING)])
            .batch_size(1000)
        )
        async for raw in cursor:
            yield _record(raw)
