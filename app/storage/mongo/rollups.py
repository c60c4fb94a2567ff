"""Usage rollups on MongoDB: the ``usage_rollups`` collection, kept in step with ``usage``.

Each record is inserted with ``rolled: false``; its rollup is then bumped with one upserting
``$inc``, and the record is marked ``rolled: true``. A write that fails in between raises,
so the durable sink buffers the record and retries it: the retry finds the record stored
but not rolled and applies the ``$inc`` then. (A crash exactly between the ``$inc`` and the
mark would count the record twice on retry; ``python -m app.tools.rebuild_rollups``
repairs that.) Records written before rollups existed have no ``rolled`` field and are
taken as rolled: the rebuild tool backfills them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from app.storage.models import StatsWindow, UsageRecord
from app.storage.rollups import (
    ALL,
    Rollup,
    add_to,
    daily_key,
    day_range,
    day_start,
    increments,
    record_day,
)
from app.storage.rollups import rollup_key as key_of

Raw = dict[str, Any]
ROLLUPS = "usage_rollups"
DAILY = "usage_rollups_daily"  # all users and models of a (day, kind)
CREATED_INDEX = "created"


def _identity(rec: UsageRecord, daily: bool) -> Raw:
    day = record_day(rec)
    if daily:
        return {"_id": daily_key(day, rec.kind), "day": day_start(day), "model": ALL,
                "user_id": None, "kind": rec.kind}  # fmt: skip
    return {
        "_id": key_of(day, rec.user_id, rec.model, rec.kind),
        "day": day_start(day),
        "user_id": rec.user_id,
        "model": rec.model,
        "kind": rec.kind,
    }


def rollup_update(rec: UsageRecord, *, daily: bool = False) -> UpdateOne:
    ident = _identity(rec, daily)
    return UpdateOne(
        {"_id": ident.pop("_id")},
        {"$inc": increments(rec), "$setOnInsert": ident},
        upsert=True,
    )


async def roll(
    records: AsyncCollection[Raw],
    rollups: AsyncCollection[Raw],
    recs: Sequence[UsageRecord],
    daily: AsyncCollection[Raw] | None = None,
) -> None:
    """Apply the rollups of stored records not yet rolled, then mark them rolled."""
    if not recs:
        return
    by_id = {rec.id: rec for rec in recs}
    cursor = records.find(
        {"_id": {"$in": [ObjectId(i) for i in by_id]}, "rolled": False}, {"_id": 1}
    )
    pending = [str(raw["_id"]) async for raw in cursor]
    if not pending:
        return
    await rollups.bulk_write([rollup_update(by_id[i]) for i in pending], ordered=True)
    if daily is not None:
        await daily.bulk_write([rollup_update(by_id[i], daily=True) for i in pending])
    await records.update_many(
        {"_id": {"$in": [ObjectId(i) for i in pending]}}, {"$set": {"rolled": True}}
    )


def _hist(raw: Raw | None) -> dict[str, dict[str, float]]:
    return {
        k: {"n": int(v.get("n", 0)), "s": float(v.get("s", 0.0))} for k, v in (raw or {}).items()
    }


def _rollup(raw: Raw) -> Rollup:
    # model_construct: thousands per /stats view, and the fields are built typed here
    return Rollup.model_construct(
        day=raw["day"].date() if isinstance(raw["day"], datetime) else raw["day"],
        user_id=raw.get("user_id"),
        model=raw["model"],
        kind=raw.get("kind", "chat"),
        requests=int(raw.get("requests", 0)),
        errors=int(raw.get("errors", 0)),
        prompt_tokens=int(raw.get("prompt_tokens", 0)),
        completion_tokens=int(raw.get("completion_tokens", 0)),
        cost_usd=float(raw.get("cost_usd", 0.0)),
        unpriced_requests=int(raw.get("unpriced_requests", 0)),
        fallback_priced_requests=int(raw.get("fallback_priced_requests", 0)),
        latency_hist=_hist(raw.get("latency_hist")),
        ttft_hist=_hist(raw.get("ttft_hist")),
    )


async def read(
    rollups: AsyncCollection[Raw],
    window: StatsWindow | None,
    user_id: int | None,
    *,
    histograms: bool = True,
) -> list[Rollup]:
    first, last = day_range(window)
    query: Raw = {}
    span: Raw = {}
    if first is not None:
        span["$gte"] = day_start(first)
    if last is not None:
        span["$lt"] = day_start(last)
    if span:
        query["day"] = span
    if user_id is not None:
        query["user_id"] = user_id
    # Histograms are most of a rollup's bytes; only totals need them.
    projection = None if histograms else {"latency_hist": 0, "ttft_hist": 0}
    cursor = rollups.find(query, projection).batch_size(5000)
    return [_rollup(raw) async for raw in cursor]


def _doc(r: Rollup) -> Raw:
    data = r.model_dump()
    data["_id"] = r.key
    data["day"] = day_start(r.day)
    return data


async def rebuild(
    records: AsyncCollection[Raw],
    rollups: AsyncCollection[Raw],
    daily: AsyncCollection[Raw],
    retention_days: int | None,
    to_record: Any,
) -> int:
    """Recompute the rollups of every day the records still cover; idempotent."""
    oldest = await records.find_one({}, sort=[("created_at", ASCENDING)])
    if oldest is None:
        return 0
    first: date = oldest["created_at"].replace(tzinfo=UTC).date()
    if retention_days is not None:
        # the oldest day may be cut by the TTL: its rollups are the only full copy
        first += timedelta(days=1)
    since = day_start(first)
    cursor = records.find({"created_at": {"$gte": since}}).batch_size(5000)
    fresh: dict[str, Rollup] = {}
    fresh_daily: dict[str, Rollup] = {}
    async for raw in cursor:
        rec = to_record(raw)
        add_to(fresh, rec)
        add_to(fresh_daily, rec, daily=True)
    for col, docs in ((rollups, fresh), (daily, fresh_daily)):
        await col.delete_many({"day": {"$gte": since}})
        if docs:
            await col.insert_many([_doc(r) for r in docs.values()], ordered=False)
    await records.update_many({"rolled": False}, {"$set": {"rolled": True}})
    return len(fresh)


async def ensure_indexes(
    records: AsyncCollection[Raw], rollups: AsyncCollection[Raw], retention_days: int | None
) -> None:
    """The ``created`` index on records: a TTL index when retention is set (its options
    follow the setting, so it is dropped and rebuilt when they differ)."""
    await rollups.create_index([("day", ASCENDING), ("user_id", ASCENDING)], name="day_user")
    await rollups.database[DAILY].create_index([("day", ASCENDING)], name="day")
    wanted = None if retention_days is None else retention_days * 86_400
    cursor = await records.list_indexes()
    current = {ix["name"]: ix async for ix in cursor}
    existing = current.get(CREATED_INDEX)
    if existing is not None and existing.get("expireAfterSeconds") == wanted:
        return
    if existing is not None:
        await records.drop_index(CREATED_INDEX)
    options: Raw = {} if wanted is None else {"expireAfterSeconds": wanted}
    await records.create_index([("created_at", ASCENDING)], name=CREATED_INDEX, **options)
