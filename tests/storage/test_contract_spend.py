"""SpendRepository contract, run on every backend: the budget is a hard limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import pytest

from app.storage import SpendRepository, Storage, open_storage
from tests.storage.mongo_server import MongoTarget

DAY = date(2026, 11, 25)
NEXT_DAY = date(2026, 11, 26)


async def test_reserve_adds_while_it_fits(storage: Storage) -> None:
    spend = storage.spend
    assert isinstance(spend, SpendRepository)
    assert await spend.spent(1, DAY) == 0.0
    assert await spend.reserve(1, DAY, 0.4, 1.0)
    assert await spend.reserve(1, DAY, 0.6, 1.0)  # exactly the limit still fits
    assert await spend.spent(1, DAY) == pytest.approx(1.0)
    assert not await spend.reserve(1, DAY, 0.01, 1.0)
    assert await spend.spent(1, DAY) == pytest.approx(1.0)  # a refusal adds nothing


async def test_float_sums_do_not_refuse_an_exact_fit(storage: Storage) -> None:
    for _ in range(3):
        assert await storage.spend.reserve(2, DAY, 0.1, 0.3)
    assert not await storage.spend.reserve(2, DAY, 0.1, 0.3)


async def test_amount_larger_than_the_limit_is_refused_on_an_empty_day(storage: Storage) -> None:
    assert not await storage.spend.reserve(3, DAY, 2.0, 1.0)
    assert await storage.spend.spent(3, DAY) == 0.0


async def test_zero_reserve_succeeds_only_below_the_limit(storage: Storage) -> None:
    spend = storage.spend
    assert await spend.reserve(4, DAY, 0.0, 1.0)
    assert not await spend.reserve(4, DAY, 0.0, 0.0)  # a $0 budget: nothing at all
    assert await spend.reserve(4, DAY, 1.0, 1.0)
    assert not await spend.reserve(4, DAY, 0.0, 1.0)  # spent up: even a free call is refused


async def test_no_limit_always_adds(storage: Storage) -> None:
    assert await storage.spend.reserve(5, DAY, 1e6, None)
    assert await storage.spend.reserve(5, DAY, 1.0, None)
    assert await storage.spend.spent(5, DAY) == pytest.approx(1e6 + 1)


async def test_adjust_settles_and_never_goes_below_zero(storage: Storage) -> None:
    spend = storage.spend
    assert await spend.reserve(6, DAY, 0.5, 1.0)
    await spend.adjust(6, DAY, -0.3)  # the call cost less than reserved
    assert await spend.spent(6, DAY) == pytest.approx(0.2)
    await spend.adjust(6, DAY, 0.25)  # or more
    assert await spend.spent(6, DAY) == pytest.approx(0.45)
    await spend.adjust(6, DAY, -5.0)
    assert await spend.spent(6, DAY) == 0.0
    await spend.adjust(7, DAY, -1.0)  # a day never reserved
    assert await spend.spent(7, DAY) == 0.0
    await spend.adjust(7, DAY, 0.3)  # spent without a reservation is still counted
    assert await spend.spent(7, DAY) == pytest.approx(0.3)


async def test_days_and_users_are_separate(storage: Storage) -> None:
    assert await storage.spend.reserve(8, DAY, 1.0, 1.0)
    assert await storage.spend.reserve(8, NEXT_DAY, 1.0, 1.0)
    assert await storage.spend.reserve(9, DAY, 1.0, 1.0)
    assert await storage.spend.spent(8, DAY) == pytest.approx(1.0)


async def test_seven_parallel_reserves_that_afford_one_give_one(storage: Storage) -> None:
    await storage.spend.adjust(10, DAY, 0.5)
    results = await asyncio.gather(*(storage.spend.reserve(10, DAY, 0.3, 1.0) for _ in range(7)))
    assert sum(results) == 1
    assert await storage.spend.spent(10, DAY) == pytest.approx(0.8)


async def test_parallel_reserves_on_a_fresh_day_fill_it_exactly(storage: Storage) -> None:
    # Many first reserves of a day race to create its counter: none may be lost or refused
    # while there is room.
    results = await asyncio.gather(*(storage.spend.reserve(11, DAY, 0.1, 0.5) for _ in range(12)))
    assert sum(results) == 5
    assert await storage.spend.spent(11, DAY) == pytest.approx(0.5)


@pytest.fixture
async def two_storages(mongo: MongoTarget, scratch_db: str) -> AsyncIterator[list[Storage]]:
    """Two storages (two clients) on one database, as two bot instances would be."""
    first = await open_storage(mongo.uri, db_name=scratch_db)
    second = await open_storage(mongo.uri, db_name=scratch_db)
    try:
        yield [first, second]
    finally:
        await first.close()
        await second.close()


@pytest.mark.mongodb
async def test_two_instances_cannot_overspend(two_storages: list[Storage]) -> None:
    a, b = two_storages
    await a.spend.adjust(12, DAY, 0.5)
    results = await asyncio.gather(
        *(two_storages[i % 2].spend.reserve(12, DAY, 0.3, 1.0) for i in range(7))
    )
    assert sum(results) == 1
    assert await b.spend.spent(12, DAY) == pytest.approx(0.8)

    fresh = await asyncio.gather(
        *(two_storages[i % 2].spend.reserve(13, DAY, 0.1, 0.5) for i in range(12))
    )
    assert sum(fresh) == 5
    assert await a.spend.spent(13, DAY) == pytest.approx(0.5)
