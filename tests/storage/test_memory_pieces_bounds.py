"""The in-memory piece store is bounded: a flood of keys cannot grow it without limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.storage.memory.pieces import MemoryPieceRepository
from app.storage.pieces import TurnPiece

NOW = datetime(2026, 12, 7, tzinfo=UTC)


async def test_full_store_refuses_new_keys_until_stale_ones_go() -> None:
    repo = MemoryPieceRepository(max_open=3)
    for key in "abc":
        assert await repo.add(key, TurnPiece(message_id=1), max_pieces=5, now=NOW, stale_after=60)
    refused = await repo.add("d", TurnPiece(message_id=1), max_pieces=5, now=NOW, stale_after=60)
    assert refused is None
    # An open key still takes pieces.
    assert await repo.add("a", TurnPiece(message_id=2), max_pieces=5, now=NOW, stale_after=60)
    later = NOW + timedelta(minutes=2)
    assert await repo.add("d", TurnPiece(message_id=1), max_pieces=5, now=later, stale_after=60)
