"""AccessRequestRepository contract, run on every backend."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from app.storage import Storage, open_storage
from tests.storage.mongo_server import MongoTarget


async def test_repeated_requests_coalesce(storage: Storage) -> None:
    reqs = storage.requests
    first, created = await reqs.open_or_get_pending(1, "bob", "Bob B")
    assert created and first.status == "pending" and first.full_name == "Bob B"
    again, created_again = await reqs.open_or_get_pending(1, "bob", "Bob B")
    assert not created_again and again.id == first.id
    assert await reqs.get(first.id) == first


async def test_concurrent_presses_open_one_request(storage: Storage) -> None:
    results = await asyncio.gather(
        *(storage.requests.open_or_get_pending(2, "c", "C") for _ in range(8))
    )
    assert len({r.id for r, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert len(await storage.requests.list_pending()) == 1


async def test_decide_is_atomic_and_once(storage: Storage) -> None:
    reqs = storage.requests
    req, _ = await reqs.open_or_get_pending(3, "d", "D")
    outcomes = await asyncio.gather(
        reqs.decide(req.id, "approved", 100), reqs.decide(req.id, "denied", 200)
    )
    decided = [o for o in outcomes if o is not None]
    assert len(decided) == 1
    winner = decided[0]
    assert winner.status in ("approved", "denied")
    assert winner.decided_by == (100 if winner.status == "approved" else 200)
    assert winner.decided_at is not None
    assert await reqs.decide(req.id, "approved", 300) is None
    assert await reqs.get(req.id) == winner
    assert await reqs.list_pending() == []


async def test_revoke_only_after_approval(storage: Storage) -> None:
    reqs = storage.requests
    a, _ = await reqs.open_or_get_pending(4, None, None)
    await reqs.decide(a.id, "approved", 1)
    revoked = await reqs.decide(a.id, "revoked", 2)
    assert revoked is not None and revoked.status == "revoked" and revoked.decided_by == 2
    b, _ = await reqs.open_or_get_pending(5, None, None)
    await reqs.decide(b.id, "denied", 1)
    assert await reqs.decide(b.id, "revoked", 1) is None


async def test_decide_rejects_unknown_ids_and_pending(storage: Storage) -> None:
    reqs = storage.requests
    req, _ = await reqs.open_or_get_pending(6, None, None)
    assert await reqs.decide(req.id, "pending", 1) is None
    assert await reqs.decide("0" * 24, "approved", 1) is None
    assert await reqs.decide("not-an-id", "approved", 1) is None
    assert await reqs.get("not-an-id") is None
    assert (await reqs.get(req.id)).status == "pending"  # type: ignore[union-attr]


async def test_last_request_and_new_request_after_decision(storage: Storage) -> None:
    reqs = storage.requests
    assert await reqs.last_request_for(7) is None
    old, _ = await reqs.open_or_get_pending(7, "e", "E")
    await reqs.decide(old.id, "denied", 1)
    assert (await reqs.last_request_for(7)).status == "denied"  # type: ignore[union-attr]
    await asyncio.sleep(0.002)  # distinct created_at at millisecond precision
    new, created = await reqs.open_or_get_pending(7, "e", "E")
    assert created and new.id != old.id
    assert (await reqs.last_request_for(7)).id == new.id  # type: ignore[union-attr]


async def test_cards_and_pending_order(storage: Storage) -> None:
    reqs = storage.requests
    ids = []
    for uid in (11, 12, 13):
        r, _ = await reqs.open_or_get_pending(uid, None, f"U{uid}")
        ids.append(r.id)
        await asyncio.sleep(0.002)
    await reqs.add_card(ids[0], chat_id=100, message_id=1)
    await reqs.add_card(ids[0], chat_id=200, message_id=2)
    await reqs.add_card("0" * 24, chat_id=1, message_id=1)  # unknown: ignored
    got = await reqs.get(ids[0])
    assert got is not None
    assert [(c.chat_id, c.message_id) for c in got.cards] == [(100, 1), (200, 2)]
    await reqs.decide(ids[1], "approved", 1)
    assert [r.id for r in await reqs.list_pending()] == [ids[0], ids[2]]


async def test_count_pending(storage: Storage) -> None:
    reqs = storage.requests
    assert await reqs.count_pending() == 0
    first, _ = await reqs.open_or_get_pending(20, "a", "A")
    await reqs.open_or_get_pending(21, "b", "B")
    await reqs.open_or_get_pending(21, "b", "B")  # coalesced
    assert await reqs.count_pending() == 2
    await reqs.decide(first.id, "denied", 1)
    assert await reqs.count_pending() == 1


async def test_twenty_parallel_claims_give_one_delivery(storage: Storage) -> None:
    req, _ = await storage.requests.open_or_get_pending(22, "c", "C")
    claims = await asyncio.gather(
        *(storage.requests.claim_delivery(req.id, timedelta(minutes=5)) for _ in range(20))
    )
    assert sum(claims) == 1


async def test_a_stale_claim_can_be_claimed_again(storage: Storage) -> None:
    reqs = storage.requests
    req, _ = await reqs.open_or_get_pending(23, "d", "D")
    assert await reqs.claim_delivery(req.id, timedelta(hours=1))
    assert not await reqs.claim_delivery(req.id, timedelta(hours=1))  # fresh claim holds
    # A claim older than stale_after delivered nothing (no card): another may take over.
    assert await reqs.claim_delivery(req.id, timedelta(0))
    assert not await reqs.claim_delivery(req.id, timedelta(hours=1))


async def test_a_released_claim_can_be_claimed_at_once(storage: Storage) -> None:
    reqs = storage.requests
    req, _ = await reqs.open_or_get_pending(27, "h", "H")
    assert await reqs.claim_delivery(req.id, timedelta(hours=1))
    await reqs.release_delivery(req.id)  # no admin was reachable: give it up
    assert await reqs.claim_delivery(req.id, timedelta(hours=1))
    await reqs.add_card(req.id, 100, 1)
    await reqs.release_delivery(req.id)  # a delivered request stays delivered
    assert not await reqs.claim_delivery(req.id, timedelta(0))


async def test_only_a_pending_request_without_cards_can_be_claimed(storage: Storage) -> None:
    reqs = storage.requests
    carded, _ = await reqs.open_or_get_pending(24, "e", "E")
    await reqs.add_card(carded.id, 100, 1)
    assert not await reqs.claim_delivery(carded.id, timedelta(0))
    decided, _ = await reqs.open_or_get_pending(25, "f", "F")
    await reqs.decide(decided.id, "approved", 1)
    assert not await reqs.claim_delivery(decided.id, timedelta(0))
    assert not await reqs.claim_delivery("0" * 24, timedelta(0))  # unknown
    assert not await reqs.claim_delivery("not-an-id", timedelta(0))


@pytest.mark.mongodb
async def test_two_instances_claim_one_delivery(mongo: MongoTarget, scratch_db: str) -> None:
    first = await open_storage(mongo.uri, db_name=scratch_db)
    second = await open_storage(mongo.uri, db_name=scratch_db)
    try:
        req, _ = await first.requests.open_or_get_pending(26, "g", "G")
        pair = (first, second)
        claims = await asyncio.gather(
            *(pair[i % 2].requests.claim_delivery(req.id, timedelta(minutes=5)) for i in range(20))
        )
        assert sum(claims) == 1
    finally:
        await first.close()
        await second.close()
