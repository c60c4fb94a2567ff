"""Turns in pieces, in memory: one process, so one dict. Bounded: at most ``max_open``
collections at a time (stale ones are dropped first), ``max_pieces`` kept per collection."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.storage.pieces import CollectedTurn, PieceTicket, TurnPiece, ordered

DEFAULT_MAX_OPEN = 10_000


@dataclass
class _Collection:
    id: str
    updated_at: datetime
    version: int = 0
    seen: int = 0
    pieces: list[TurnPiece] = field(default_factory=list)


class MemoryPieceRepository:
    def __init__(self, max_open: int = DEFAULT_MAX_OPEN) -> None:
        self._open: dict[str, _Collection] = {}
        self._max_open = max_open

    async def add(
        self,
        key: str,
        piece: TurnPiece,
        *,
        max_pieces: int,
        now: datetime,
        stale_after: float,
    ) -> PieceTicket | None:
        stale = now - timedelta(seconds=stale_after)
        found = self._open.get(key)
        if found is not None and found.updated_at < stale:
            del self._open[key]
            found = None
        if found is None:
            if len(self._open) >= self._max_open:
                self._drop_stale(stale)
            if len(self._open) >= self._max_open:
                return None
            found = self._open[key] = _Collection(id=uuid.uuid4().hex, updated_at=now)
        found.version += 1
        found.seen += 1
        found.updated_at = now
        if len(found.pieces) < max_pieces:
            found.pieces.append(piece.model_copy(deep=True))
        return PieceTicket(
            collection=found.id, version=found.version, stored=len(found.pieces), seen=found.seen
        )

    async def is_open(self, key: str, *, since: datetime) -> bool:
        found = self._open.get(key)
        return found is not None and found.updated_at >= since

    async def claim(self, key: str, collection: str, version: int) -> CollectedTurn | None:
        found = self._open.get(key)
        if found is None or found.id != collection or found.version != version:
            return None
        del self._open[key]
        return CollectedTurn(pieces=ordered(found.pieces), seen=found.seen)

    def _drop_stale(self, stale: datetime) -> None:
        for key in [k for k, c in self._open.items() if c.updated_at < stale]:
            del self._open[key]
