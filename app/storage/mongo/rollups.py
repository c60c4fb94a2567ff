"""Usage rollups on MongoDB: three collections kept in step with ``usage`` (per model,
per user, per day; see ``COLLECTIONS``).

Each record is inserted with ``rolled: false``; its rollups are then bumped with one
upserting ``$inc`` each, and the record is marked ``rolled: true``. A write that fails in
between raises, so the durable sink buffers the record and retries it: the retry finds the
record stored but not rolled and applies the ``$inc`` then. (A failure after some of the
``$inc`` landed, or a crash before the mark, counts the record twice on those levels;
``python -m app.ops.rebuild_rollups`` repairs that.) Records written before rollups
existed have no ``rolled`` field and are taken as rolled: the rebuild tool backfills them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from app.storage.models import StatsWindow, UsageRecord
from app.storage.rollups import (
    Level,
    Rollup,
    add_to,
    day_range,
    day_start,
    identity,
    increments,
    record_day,
)
from llmdoor import CallKind

Raw = dict[str, Any]
ROLLUPS = "usage_rollups"  # per (day, user, model, kind), no histograms
USER_DAILY = "usage_rollups_user"  # per (day, user, kind), with histograms
DAILY = "usage_rollups_daily"  # per (day, kind), with histograms
COLLECTIONS: dict[Level, str] = {"model": ROLLUPS, "user": USER_DAILY, "day": DAILY}
CREATED_INDEX = "created"

Collections = Mapping[Level, AsyncCollection[Raw]]


def collections(database: Any) -> dict[Level, AsyncCollection[Raw]]:
    return {level: database[name] for level, name in COLLECTIONS.items()}


def rollup_update(rec: UsageRecord, level: Level) -> UpdateOne:
    key, user_id, model = identity(rec, level)
    ident = {"day": day_start(record_day(rec)), "user_id": user_id, "model": model,
             "kind": rec.kind, "level": level}  # fmt: skip
    return UpdateOne(
        {"_id": key},
        {"$inc": increments(rec, histograms=level != "model"), "$setOnInsert": ident},
        upsert=True,
    )


async def roll(
    records: AsyncCollection[Raw], rollups: Collections, recs: Sequence[UsageRecord]
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
    for level, col in rollups.items():
        await col.bulk_write([rollup_update(by_id[i], level) for i in pending], ordered=True)
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
        kind=CallKind(raw.get("kind", CallKind.CHAT)),
        level=raw.get("level", "model"),
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
    days: Collection[date] | None = None,
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
    if days is not None:
        query.setdefault("$and", []).append({"day": {"$in": [day_start(d) for d in days]}})
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
    rollups: Collections,
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
    fresh: dict[Level, dict[str, Rollup]] = {level: {} for level in rollups}
    async for raw in cursor:
        rec = to_record(raw)
        for level, out in fresh.items():
            add_to(out, rec, level)
    for level, col in rollups.items():
        await col.delete_many({"day": {"$gte": since}})
        docs = [_doc(r) for r in fresh[level].values()]
        for i in range(0, len(docs), 1000):
            await col.insert_many(docs[i : i + 1000], ordered=False)
    await records.update_many({"rolled": False}, {"$set": {"rolled": True}})
    return len(fresh["model"])


async def ensure_indexes(
    records: AsyncCollection[Raw], rollups: Collections, retention_days: int | None
) -> None:
    """The ``created`` index on records: a TTL index when retention is set (its options
    follow the setting, so it is dropped and rebuilt when they differ)."""
    for col in rollups.values():
        await col.create_index([("day", ASCENDING), ("user_id", ASCENDING)], name="day_user")
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
