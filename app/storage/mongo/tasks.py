"""Scheduled tasks on MongoDB (``scheduled_tasks``). The claim is one find-and-update whose
filter says "due, active, and not held": two instances asking at once get it once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from app.storage.models import utc_ms
from app.storage.mongo.repos import to_oid
from app.storage.tasks import ScheduledTask, TaskCounts, TaskStatus

Raw = dict[str, Any]

COLLECTION = "scheduled_tasks"


def _task(raw: Raw) -> ScheduledTask:
    data = {k: v for k, v in raw.items() if k != "_id"}
    return ScheduledTask(id=str(raw["_id"]), **data)


def _free(now: datetime) -> Raw:
    return {"$or": [{"claimed_until": None}, {"claimed_until": {"$lte": utc_ms(now)}}]}


class MongoTaskRepository:
    def __init__(self, database: AsyncDatabase[Raw]) -> None:
        self._col: AsyncCollection[Raw] = database[COLLECTION]

    async def ensure_indexes(self) -> None:
        await self._col.create_indexes(
            [
                IndexModel([("status", ASCENDING), ("next_run", ASCENDING)], name="due"),
                IndexModel([("user_id", ASCENDING), ("next_run", ASCENDING)], name="user_next"),
            ]
        )

    async def add(self, task: ScheduledTask) -> ScheduledTask:
        raw = task.model_dump(exclude={"id"}) | {
            "_id": ObjectId(),
            "next_run": utc_ms(task.next_run),
        }
        await self._col.insert_one(raw)
        return _task(raw)

    async def get(self, task_id: str) -> ScheduledTask | None:
        oid = to_oid(task_id)
        raw = await self._col.find_one({"_id": oid}) if oid else None
        return _task(raw) if raw else None

    async def list_for(self, user_id: int) -> list[ScheduledTask]:
        cursor = self._col.find({"user_id": user_id, "status": {"$ne": "done"}}).sort(
            [("next_run", ASCENDING), ("_id", ASCENDING)]
        )
        return [_task(raw) async for raw in cursor]

    async def count_for(self, user_id: int) -> int:
        return await self._col.count_documents({"user_id": user_id, "status": {"$ne": "done"}})

    async def set_status(self, user_id: int, task_id: str, status: TaskStatus) -> bool:
        oid = to_oid(task_id)
        if oid is None:
            return False
        result = await self._col.update_one(
            {"_id": oid, "user_id": user_id, "status": {"$ne": "done"}},
            {"$set": {"status": status}},
        )
        return result.matched_count == 1

    async def resume(self, user_id: int, task_id: str, now: datetime) -> bool:
        oid = to_oid(task_id)
        if oid is None:
            return False
        # An update pipeline: the "no earlier than now" is part of the same atomic update.
        stage = {"status": "active", "next_run": {"$max": ["$next_run", utc_ms(now)]}}
        result = await self._col.update_one(
            {"_id": oid, "user_id": user_id, "status": "paused"}, [{"$set": stage}]
        )
        return result.matched_count == 1

    async def pause_all(self, user_id: int) -> int:
        result = await self._col.update_many(
            {"user_id": user_id, "status": "active"}, {"$set": {"status": "paused"}}
        )
        return result.modified_count

    async def delete(self, user_id: int, task_id: str) -> bool:
        oid = to_oid(task_id)
        if oid is None:
            return False
        return (await self._col.delete_one({"_id": oid, "user_id": user_id})).deleted_count == 1

    async def note(
        self, task_id: str, *, conversation_id: str | None = None, budget_told: bool | None = None
    ) -> bool:
        oid = to_oid(task_id)
        changes: Raw = {}
        if conversation_id is not None:
            changes["conversation_id"] = conversation_id
        if budget_told is not None:
            changes["budget_told"] = budget_told
        if oid is None or not changes:
            return oid is not None and await self._col.count_documents({"_id": oid}) == 1
        return (await self._col.update_one({"_id": oid}, {"$set": changes})).matched_count == 1

    async def due(self, now: datetime, limit: int) -> list[ScheduledTask]:
        query = {"status": "active", "next_run": {"$lte": utc_ms(now)}} | _free(now)
        cursor = self._col.find(query).sort("next_run", ASCENDING).limit(limit)
        return [_task(raw) async for raw in cursor]

    async def claim(
        self, task_id: str, instance: str, now: datetime, until: datetime
    ) -> ScheduledTask | None:
        oid = to_oid(task_id)
        if oid is None:
            return None
        raw = await self._col.find_one_and_update(
            {"_id": oid, "status": "active", "next_run": {"$lte": utc_ms(now)}} | _free(now),
            {"$set": {"claimed_by": instance, "claimed_until": utc_ms(until)}},
            return_document=ReturnDocument.AFTER,
        )
        return _task(raw) if raw else None

    async def extend(self, task_id: str, instance: str, until: datetime) -> bool:
        oid = to_oid(task_id)
        if oid is None:
            return False
        result = await self._col.update_one(
            {"_id": oid, "claimed_by": instance}, {"$set": {"claimed_until": utc_ms(until)}}
        )
        return result.matched_count == 1

    async def finish(
        self, task_id: str, instance: str, ran_at: datetime, next_run: datetime | None
    ) -> bool:
        oid = to_oid(task_id)
        if oid is None:
            return False
        changes: Raw = {"last_run": utc_ms(ran_at), "claimed_by": None, "claimed_until": None}
        if next_run is None:
            changes["status"] = "done"
        else:
            changes["next_run"] = utc_ms(next_run)
        result = await self._col.update_one(
            {"_id": oid, "claimed_by": instance}, {"$set": changes, "$inc": {"runs": 1}}
        )
        return result.matched_count == 1

    async def counts(self, late_before: datetime) -> TaskCounts:
        late = {
            "$and": [{"$eq": ["$status", "active"]}, {"$lt": ["$next_run", utc_ms(late_before)]}]
        }
        cursor = await self._col.aggregate(
            [
                {
                    "$group": {
                        "_id": {"kind": "$kind", "status": "$status"},
                        "tasks": {"$sum": 1},
                        "runs": {"$sum": "$runs"},
                        "late": {"$sum": {"$cond": [late, 1, 0]}},
                    }
                }
            ]
        )
        counts = TaskCounts()
        async for row in cursor:
            kind, status = row["_id"].get("kind"), row["_id"].get("status")
            counts.runs += int(row["runs"])
            counts.late += int(row["late"])
            field = f"{kind}s_{status}"
            if field in TaskCounts.model_fields:  # done tasks: only their runs count
                setattr(counts, field, getattr(counts, field) + int(row["tasks"]))
        return counts
