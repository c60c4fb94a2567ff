"""StorageBudgetPolicy against the in-memory backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from app.access.budget import StorageBudgetPolicy
from app.llm.access import AccessSettings
from app.llm.errors import BudgetExceeded
from app.llm.usage import UsageEvent
from app.storage import Storage, open_memory_storage

NOW = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)
USER, ADMIN = 7, 1


@pytest.fixture
async def storage() -> AsyncIterator[Storage]:
    s = open_memory_storage()
    yield s
    await s.close()


def spend(user_id: int, usd: float | None, at: datetime) -> UsageEvent:
    return UsageEvent(user_id=user_id, model="openai/gpt-4o", cost_usd=usd, created_at=at)


def policy(storage: Storage, **kw: object) -> StorageBudgetPolicy:
    return StorageBudgetPolicy(storage, AccessSettings(admins=f"{ADMIN},@boss"), lambda: NOW, **kw)


async def test_over_budget_refused_with_reset_time(storage: Storage) -> None:
    await storage.users.set_budget(USER, 1.0)
    await storage.usage.add_many(
        [spend(USER, 0.6, NOW - timedelta(hours=1)), spend(USER, 0.4, NOW - timedelta(hours=2))]
    )
    with pytest.raises(BudgetExceeded) as info:
        await policy(storage).check(USER)
    assert info.value.user_id == USER
    assert info.value.resets_at == datetime(2026, 11, 26, tzinfo=UTC)


async def test_under_budget_and_yesterday_not_counted(storage: Storage) -> None:
    await storage.users.set_budget(USER, 1.0)
    await storage.usage.add_many(
        [
            spend(USER, 0.5, NOW - timedelta(hours=1)),
            spend(USER, None, NOW - timedelta(hours=1)),  # unpriced: cannot be counted
            spend(USER, 5.0, NOW - timedelta(days=1)),  # yesterday
            spend(USER + 1, 5.0, NOW - timedelta(hours=1)),  # someone else
        ]
    )
    await policy(storage).check(USER)  # $0.50 of $1.00 spent today
    # The same data is over a $0.50 budget: the check above really counted today's spend.
    await storage.users.set_budget(USER, 0.5)
    with pytest.raises(BudgetExceeded):
        await policy(storage).check(USER)


async def test_no_budget_never_limits(storage: Storage) -> None:
    await storage.usage.add(spend(USER, 100.0, NOW - timedelta(hours=1)))
    await policy(storage).check(USER)
    await storage.users.set_budget(USER, 99.0)  # the spend is visible to the policy
    with pytest.raises(BudgetExceeded):
        await policy(storage).check(USER)


async def test_admins_exempt_by_id_username_or_callback(storage: Storage) -> None:
    for uid in (ADMIN, 2, 3):
        await storage.users.set_budget(uid, 0.0)
    await storage.users.upsert_seen(2, "Boss")

    async def is_admin(user_id: int) -> bool:
        return user_id == 3

    p = policy(storage, is_admin=is_admin)
    for uid in (ADMIN, 2, 3):
        await p.check(uid)
    await storage.users.set_budget(4, 0.0)
    with pytest.raises(BudgetExceeded):
        await p.check(4)


def test_matches_provider_protocol(storage: Storage) -> None:
    from app.llm.provider import BudgetPolicy

    assert isinstance(policy(storage), BudgetPolicy)
