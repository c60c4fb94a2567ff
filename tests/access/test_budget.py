"""LedgerBudget: daily budgets as a hard limit, reserved atomically in storage."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest

from app.access import LedgerBudget
from app.storage import Storage, open_memory_storage
from app.storage.errors import StorageUnavailable
from llmdoor.access import Caller, Role
from llmdoor.budget import BudgetGuard
from llmdoor.errors import BudgetExceeded

NOW = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
TODAY = NOW.date()
USER, ADMIN = 7, 1


@pytest.fixture
async def storage() -> AsyncIterator[Storage]:
    s = open_memory_storage()
    yield s
    await s.close()


def friend(budget: float | None) -> Caller:
    return Caller(user_id=USER, role=Role.FRIEND, daily_budget_usd=budget)


def ledger(storage: Storage) -> LedgerBudget:
    return LedgerBudget(storage.spend, lambda: NOW)


def test_matches_provider_protocol(storage: Storage) -> None:
    assert isinstance(ledger(storage), BudgetGuard)


async def test_call_that_does_not_fit_is_refused_with_reset_time(storage: Storage) -> None:
    guard = ledger(storage)
    hold = await guard.reserve(friend(1.0), 0.6)
    with pytest.raises(BudgetExceeded) as info:
        await guard.reserve(friend(1.0), 0.6)  # 0.6 + 0.6 > 1.0: refused before the call
    assert info.value.user_id == USER
    assert info.value.resets_at == datetime(2026, 11, 26, tzinfo=UTC)
    await hold.settle(0.1)  # the first call cost less than reserved: room again
    assert await storage.spend.spent(USER, TODAY) == pytest.approx(0.1)
    await guard.reserve(friend(1.0), 0.6)
    assert await storage.spend.spent(USER, TODAY) == pytest.approx(0.7)


async def test_spent_budget_refuses_even_unpriced_calls(storage: Storage) -> None:
    guard = ledger(storage)
    await (await guard.reserve(friend(0.5), 0.5)).settle(0.5)
    with pytest.raises(BudgetExceeded):
        await guard.reserve(friend(0.5), None)  # no price known, but nothing is left


async def test_parallel_chats_get_at_most_what_is_left(storage: Storage) -> None:
    """A friend with almost nothing left writes in seven chats at once: one call fits."""
    guard = ledger(storage)
    await (await guard.reserve(friend(1.0), 0.95)).settle(0.95)

    async def one_chat() -> bool:
        try:
            await guard.reserve(friend(1.0), 0.04)
        except BudgetExceeded:
            return False
        return True

    results = await asyncio.gather(*(one_chat() for _ in range(7)))
    assert sum(results) == 1
    assert await storage.spend.spent(USER, TODAY) <= 1.0


async def test_spend_is_counted_without_a_budget(storage: Storage) -> None:
    """Spend is booked for unlimited users too, so a budget set later the same day sees it."""
    guard = ledger(storage)
    await (await guard.reserve(friend(None), 0.3)).settle(2.0)
    assert await storage.spend.spent(USER, TODAY) == pytest.approx(2.0)
    with pytest.raises(BudgetExceeded):
        await guard.reserve(friend(1.0), 0.01)


async def test_admins_are_never_limited(storage: Storage) -> None:
    guard = ledger(storage)
    admin = Caller(user_id=ADMIN, role=Role.ADMIN, daily_budget_usd=0.0)
    await (await guard.reserve(admin, 50.0)).settle(50.0)
    assert await storage.spend.spent(ADMIN, TODAY) == 0.0


async def test_yesterday_is_not_counted(storage: Storage) -> None:
    await storage.spend.reserve(USER, date(2026, 11, 24), 5.0, None)
    await ledger(storage).reserve(friend(1.0), 0.5)


class _DownLedger:
    async def reserve(self, *args: object) -> bool:
        raise StorageUnavailable("down")

    async def adjust(self, *args: object, **kwargs: object) -> None:
        raise StorageUnavailable("down")

    async def spent(self, *args: object) -> float:
        raise StorageUnavailable("down")


async def test_outage_refuses_limited_users_and_serves_unlimited_ones() -> None:
    guard = LedgerBudget(_DownLedger(), lambda: NOW)
    with pytest.raises(BudgetExceeded):
        await guard.reserve(friend(5.0), 0.01)  # a limit that cannot be checked is not kept open
    hold = await guard.reserve(friend(None), 0.01)
    await hold.settle(0.02)  # never raises into the user's call
