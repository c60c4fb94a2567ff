"""Writes that matter are never dropped: an exchange whose save fails transiently is
retried and lands; spend that could not be counted is counted before the user's next
call, so a budget holds."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pymongo.errors import AutoReconnect, NetworkTimeout

from app.access import LedgerBudget
from app.storage import Storage, open_memory_storage
from app.storage.base import Turn
from llmdoor import BudgetExceeded, BudgetUnavailable, Caller, Role

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
DAY = date(2026, 11, 25)


def raw(repo: Any) -> Any:
    """The repository under the guard (and the replay queue, where there is one)."""
    while hasattr(repo, "inner"):
        repo = repo.inner
    return repo


def fail_next(repo: Any, method: str, error: BaseException, times: int = 1) -> list[int]:
    """Make ``repo.method`` raise ``error`` for its next ``times`` calls; returns a counter."""
    real = getattr(repo, method)
    calls = [0]

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] <= times:
            raise error
        return await real(*args, **kwargs)

    setattr(repo, method, flaky)
    return calls


def turns(text: str) -> list[Turn]:
    return [Turn(role="user", content=text), Turn(role="assistant", content=f"echo: {text}")]


async def test_an_exchange_whose_save_fails_transiently_is_retried_and_lands() -> None:
    st: Storage = open_memory_storage(probe_interval=0.05)
    conv = await st.conversations.active(1, 1)
    fail_next(raw(st.conversations), "append", AutoReconnect("connection reset under load"))
    await st.conversations.append(conv.id, turns("hello"))  # no error: it is queued
    assert await st.drain_writes(timeout=10)
    stored = await st.conversations.get(conv.id)
    assert stored is not None
    assert [t.content for t in stored.turns] == ["hello", "echo: hello"]
    assert st.breaker.available  # one failure while the database answers: not an outage
    await st.close()


async def test_queued_exchanges_keep_their_order_and_are_read_back_first() -> None:
    st: Storage = open_memory_storage(probe_interval=0.05)
    conv = await st.conversations.active(1, 1)
    st.breaker.inject_outage()
    await st.conversations.append(conv.id, turns("one"))
    await st.conversations.append(conv.id, turns("two"))
    assert await st.conversations.set_message_ids(conv.id, [41, 42])
    st.breaker.clear_outage()
    assert await st.breaker.wait_available(timeout=5)
    # The next read replays what waited, so the next message sees the whole history.
    again = await st.conversations.active(1, 1)
    assert [t.content for t in again.turns] == ["one", "echo: one", "two", "echo: two"]
    assert again.turns[-1].message_ids == [41, 42]
    await st.close()


async def test_an_append_that_may_have_landed_is_not_stored_twice() -> None:
    st: Storage = open_memory_storage(probe_interval=0.05)
    conv = await st.conversations.active(1, 1)
    inner = raw(st.conversations)
    real = inner.append

    async def lands_then_times_out(conversation_id: str, new: list[Turn]) -> None:
        await real(conversation_id, new)
        raise NetworkTimeout("the reply was lost, the write was not")

    inner.append = lands_then_times_out
    await st.conversations.append(conv.id, turns("once"))
    inner.append = real
    assert await st.drain_writes(timeout=10)
    stored = await st.conversations.get(conv.id)
    assert stored is not None and [t.content for t in stored.turns] == ["once", "echo: once"]
    await st.close()


def friend(budget: float | None) -> Caller:
    return Caller(user_id=7, role=Role.FRIEND, daily_budget_usd=budget)


async def test_spend_written_during_a_failure_is_counted_before_the_next_call() -> None:
    st: Storage = open_memory_storage(probe_interval=0.05)
    budget = LedgerBudget(st.spend, clock=lambda: NOW)  # as the bot builds it, minus the bundle
    hold = await budget.reserve(friend(1.0), 0.5)
    # The call cost more than its estimate, and the settlement hits a failing database.
    fail_next(raw(st.spend), "adjust", AutoReconnect("reset under load"))
    await hold.settle(0.9)
    # Counted before the next call is allowed: 0.9 spent, 0.2 more would pass $1.00. The
    # refusal is the budget's, not "the database is unavailable" (one failed call).
    with pytest.raises(BudgetExceeded) as info:
        await budget.reserve(friend(1.0), 0.2)
    assert type(info.value) is BudgetExceeded
    assert await st.spend.spent(7, DAY) == pytest.approx(0.9)
    await st.close()


async def test_a_budgeted_user_is_refused_while_their_spend_cannot_be_counted() -> None:
    st: Storage = open_memory_storage(probe_interval=0.05)
    budget = LedgerBudget(st.spend, clock=lambda: NOW, pending=st.pending_spend)
    hold = await budget.reserve(friend(1.0), 0.1)
    st.breaker.inject_outage()
    await hold.settle(0.3)  # deferred
    with pytest.raises(BudgetUnavailable):
        await budget.reserve(friend(1.0), 0.1)
    st.breaker.clear_outage()
    assert await st.breaker.wait_available(timeout=5)
    await budget.reserve(friend(1.0), 0.1)
    assert await st.spend.spent(7, DAY) == pytest.approx(0.4)
    await st.close()


async def test_unlimited_spend_during_an_outage_is_counted_afterwards() -> None:
    st: Storage = open_memory_storage(probe_interval=0.05)
    budget = LedgerBudget(st.spend, clock=lambda: NOW, pending=st.pending_spend)
    st.breaker.inject_outage()
    hold = await budget.reserve(friend(None), 0.05)  # answered: no limit to keep
    await hold.settle(0.02)
    assert st.pending_spend.owed(7, DAY) == pytest.approx(0.02)  # waiting, not forgotten
    st.breaker.clear_outage()
    assert await st.drain_writes(timeout=10)
    assert await st.spend.spent(7, DAY) == pytest.approx(0.02)
    await st.close()


async def test_a_refund_that_landed_before_its_timeout_is_counted_once() -> None:
    st: Storage = open_memory_storage(probe_interval=0.05)
    budget = LedgerBudget(st.spend, clock=lambda: NOW, pending=st.pending_spend)
    hold = await budget.reserve(friend(1.0), 0.5)
    inner = raw(st.spend)
    real = inner.adjust

    async def lands_then_times_out(*args: Any, **kwargs: Any) -> None:
        await real(*args, **kwargs)
        raise NetworkTimeout("the reply was lost")

    inner.adjust = lands_then_times_out
    await hold.settle(0.1)  # a refund of 0.4 that did land
    inner.adjust = real
    assert await st.drain_writes(timeout=10)
    # Replayed with its id: neither 0.0 (refunded twice) nor 0.5 (the refund given up).
    assert await st.spend.spent(7, DAY) == pytest.approx(0.1)
    await st.close()


async def test_a_queued_write_that_fails_as_a_bug_does_not_block_reads() -> None:
    st: Storage = open_memory_storage(probe_interval=0.05)
    conv = await st.conversations.active(1, 1)
    inner = raw(st.conversations)
    errors: list[BaseException] = [AutoReconnect("first try"), TypeError("a bug on replay")]

    async def broken(*_args: Any) -> None:
        raise errors.pop(0) if errors else TypeError("still a bug")

    inner.append = broken
    await st.conversations.append(conv.id, turns("lost"))  # queued after the outage error
    again = await st.conversations.active(1, 1)  # the replay hits the bug: reads go on
    assert again.id == conv.id
    assert st.conversation_writes.pending == 0 and st.conversation_writes.dropped == 1
    await st.close()


async def test_an_adjustment_with_an_id_counts_once(storage: Storage) -> None:
    """Both backends: a replayed adjustment (same id) is not counted twice."""
    await storage.spend.reserve(9, DAY, 1.0, None)
    await storage.spend.adjust(9, DAY, -0.25, op_id="op-1")
    await storage.spend.adjust(9, DAY, -0.25, op_id="op-1")  # the replay
    await storage.spend.adjust(9, DAY, 0.5, op_id="op-2")
    await storage.spend.adjust(9, DAY, 0.1)  # no id: always applied
    await storage.spend.adjust(9, DAY, 0.1)
    assert await storage.spend.spent(9, DAY) == pytest.approx(1.45)
    # A day that does not exist yet, adjusted first with an id.
    await storage.spend.adjust(10, DAY, 0.3, op_id="op-3")
    await storage.spend.adjust(10, DAY, 0.3, op_id="op-3")
    assert await storage.spend.spent(10, DAY) == pytest.approx(0.3)


async def test_a_reservation_that_landed_before_its_timeout_is_counted_once() -> None:
    """An unlimited user's reservation is answered even when its write times out; the
    replay carries the reservation's id, so one that did land is not counted twice."""
    st: Storage = open_memory_storage(probe_interval=0.05)
    budget = LedgerBudget(st.spend, clock=lambda: NOW, pending=st.pending_spend)
    inner = raw(st.spend)
    real = inner.reserve

    async def lands_then_times_out(*args: Any, **kwargs: Any) -> bool:
        await real(*args, **kwargs)
        raise NetworkTimeout("the reply was lost")

    inner.reserve = lands_then_times_out
    hold = await budget.reserve(friend(None), 0.5)
    inner.reserve = real
    await hold.settle(0.2)
    assert await st.drain_writes(timeout=10)
    assert await st.spend.spent(7, DAY) == pytest.approx(0.2)  # not 0.7
    await st.close()
