"""Contract: turns in pieces (app.storage.pieces) on both backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from app.storage import Storage
from app.storage.pieces import TurnPiece

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def piece(message_id: int, text: str = "x") -> TurnPiece:
    return TurnPiece(message_id=message_id, text=text, message={"message_id": message_id})


async def add(storage: Storage, key: str, p: TurnPiece, at: datetime = NOW, cap: int = 10):
    return await storage.pieces.add(key, p, max_pieces=cap, now=at, stale_after=60)


async def test_pieces_collect_and_the_latest_version_claims_them_in_order(
    storage: Storage,
) -> None:
    first = await add(storage, "k", piece(2, "second"))
    second = await add(storage, "k", piece(1, "first"))
    assert first is not None and second is not None
    assert first.collection == second.collection
    assert (first.version, second.version) == (1, 2)
    assert await storage.pieces.is_open("k", since=NOW - timedelta(seconds=1))
    # The earlier piece's handler finds a newer version: it leaves the turn alone.
    assert await storage.pieces.claim("k", first.collection, first.version) is None
    turn = await storage.pieces.claim("k", second.collection, second.version)
    assert turn is not None
    assert [p.text for p in turn.pieces] == ["first", "second"]
    assert turn.pieces[0].message == {"message_id": 1}
    assert turn.seen == 2
    # Claimed once: gone.
    assert await storage.pieces.claim("k", second.collection, second.version) is None
    assert not await storage.pieces.is_open("k", since=NOW - timedelta(seconds=1))


async def test_keys_are_separate_and_a_new_collection_is_not_claimed_by_an_old_ticket(
    storage: Storage,
) -> None:
    a = await add(storage, "a", piece(1))
    b = await add(storage, "b", piece(1))
    assert a is not None and b is not None and a.collection != b.collection
    assert await storage.pieces.claim("a", a.collection, a.version) is not None
    again = await add(storage, "a", piece(5))
    assert again is not None and again.version == 1
    assert await storage.pieces.claim("a", a.collection, a.version) is None  # old collection
    assert await storage.pieces.claim("b", b.collection, b.version) is not None


async def test_pieces_beyond_the_cap_are_counted_not_kept(storage: Storage) -> None:
    ticket = None
    for i in range(1, 8):
        ticket = await add(storage, "k", piece(i, str(i)), cap=3)
    assert ticket is not None
    assert (ticket.stored, ticket.seen) == (3, 7)
    turn = await storage.pieces.claim("k", ticket.collection, ticket.version)
    assert turn is not None
    assert [p.text for p in turn.pieces] == ["1", "2", "3"]
    assert turn.seen == 7


async def test_is_open_only_while_pieces_are_recent(storage: Storage) -> None:
    await add(storage, "k", piece(1))
    assert await storage.pieces.is_open("k", since=NOW)
    assert not await storage.pieces.is_open("k", since=NOW + timedelta(seconds=2))
    assert not await storage.pieces.is_open("other", since=NOW - timedelta(days=1))


async def test_a_stale_collection_is_dropped_by_the_next_piece(storage: Storage) -> None:
    old = await add(storage, "k", piece(1, "orphan"))
    later = NOW + timedelta(minutes=5)
    fresh = await add(storage, "k", piece(9, "new"), at=later)
    assert old is not None and fresh is not None
    assert fresh.collection != old.collection and fresh.version == 1
    turn = await storage.pieces.claim("k", fresh.collection, fresh.version)
    assert turn is not None and [p.text for p in turn.pieces] == ["new"]


async def test_concurrent_adds_lose_no_piece_and_exactly_one_claims(storage: Storage) -> None:
    tickets = await asyncio.gather(*(add(storage, "k", piece(i, str(i))) for i in range(1, 9)))
    assert all(t is not None for t in tickets)
    versions = sorted(t.version for t in tickets if t is not None)
    assert versions == list(range(1, 9))  # each add bumped the version once
    claims = await asyncio.gather(
        *(storage.pieces.claim("k", t.collection, t.version) for t in tickets if t is not None)
    )
    won = [c for c in claims if c is not None]
    assert len(won) == 1
    assert sorted(p.text for p in won[0].pieces) == sorted(str(i) for i in range(1, 9))
