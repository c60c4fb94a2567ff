"""Turns in pieces on MongoDB (``turn_pieces``): one document per open collection,
{_id: key, collection, version, seen, pieces, updated_at}. Every step is one atomic
operation, so instances sharing the database collect one turn together: ``add`` is an
upsert that pushes the piece (the array capped by ``$slice``) and bumps the version,
``claim`` a find-and-delete on that version."""

from __future__ import annotations

import contextlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from app.storage.pieces import CollectedTurn, PieceTicket, TurnPiece, ordered

Raw = dict[str, Any]

COLLECTION = "turn_pieces"
#: A piece whose collection was claimed between the two steps of ``add`` tries again.
_UPSERT_TRIES = 5


class MongoPieceRepository:
    def __init__(self, database: AsyncDatabase[Raw]) -> None:
        self._col: AsyncCollection[Raw] = database[COLLECTION]

    async def add(
        self,
        key: str,
        piece: TurnPiece,
        *,
        max_pieces: int,
        now: datetime,
        stale_after: float,
    ) -> PieceTicket | None:
        # A collection left by an instance that died before answering is not continued.
        await self._col.delete_one(
            {"_id": key, "updated_at": {"$lt": now - timedelta(seconds=stale_after)}}
        )
        stored = piece.model_dump(mode="json")
        doc = None
        for _ in range(_UPSERT_TRIES):
            # The collection exists (one insert wins when first pieces race) ...
            with contextlib.suppress(DuplicateKeyError):
                await self._col.update_one(
                    {"_id": key},
                    {
                        "$setOnInsert": {
                            "collection": uuid.uuid4().hex,
                            "version": 0,
                            "seen": 0,
                            "pieces": [],
                            "updated_at": now,
                        }
                    },
                    upsert=True,
                )
            # ... and the piece goes in once: a retry never adds it twice.
            doc = await self._col.find_one_and_update(
                {"_id": key, "pieces.message_id": {"$ne": piece.message_id}},
                {
                    "$inc": {"version": 1, "seen": 1},
                    "$set": {"updated_at": now},
                    "$push": {"pieces": {"$each": [stored], "$slice": max_pieces}},
                },
                return_document=ReturnDocument.AFTER,
            )
            if doc is not None:
                break
            found = await self._col.find_one({"_id": key})
            if found is not None and any(
                p.get("message_id") == piece.message_id for p in found.get("pieces", [])
            ):
                doc = found  # added already (by an attempt whose answer was lost)
                break
            # Claimed in between: the next round opens a new collection.
        if doc is None:
            raise RuntimeError(f"turn pieces: could not add to {key}")
        return PieceTicket(
            collection=doc["collection"],
            version=doc["version"],
            stored=len(doc["pieces"]),
            seen=doc["seen"],
        )

    async def is_open(self, key: str, *, since: datetime) -> bool:
        found = await self._col.find_one(
            {"_id": key, "updated_at": {"$gte": since}}, projection={"_id": 1}
        )
        return found is not None

    async def claim(self, key: str, collection: str, version: int) -> CollectedTurn | None:
        doc = await self._col.find_one_and_delete(
            {"_id": key, "collection": collection, "version": version}
        )
        if doc is None:
            return None
        pieces = [TurnPiece.model_validate(p) for p in doc["pieces"]]
        return CollectedTurn(pieces=ordered(pieces), seen=doc["seen"])
