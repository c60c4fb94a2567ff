"""Contract: scheduled tasks and their exactly-once claim (both backends)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from app.storage import Storage
from app.storage.tasks import ScheduledTask, TaskCounts

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def task(user: int = 1, at: datetime = NOW, text: str = "call mum") -> ScheduledTask:
    return ScheduledTask(id="", user_id=user, chat_id=user, text=text, next_run=at)


async def test_tasks_are_listed_soonest_first_and_managed_by_their_owner(storage: Storage) -> None:
    repo = storage.tasks
    later = await repo.add(task(at=NOW + timedelta(hours=2), text="later"))
    sooner = await repo.add(task(at=NOW + timedelta(hours=1), text="sooner"))
    await repo.add(task(user=2, text="other"))
    assert [t.text for t in await repo.list_for(1)] == ["sooner", "later"]
    assert await repo.count_for(1) == 2
    assert not await repo.set_status(2, sooner.id, "paused")  # not theirs
    assert await repo.set_status(1, sooner.id, "paused")
    assert (await repo.get(sooner.id)).status == "paused"  # type: ignore[union-attr]
    assert not await repo.delete(2, later.id)
    assert await repo.delete(1, later.id)
    assert [t.text for t in await repo.list_for(1)] == ["sooner"]
    assert await repo.pause_all(2) == 1


async def test_a_due_task_is_claimed_once_and_finished_by_its_holder(storage: Storage) -> None:
    repo = storage.tasks
    added = await repo.add(task())
    await repo.add(task(at=NOW + timedelta(minutes=5), text="not yet"))
    due = await repo.due(NOW, 10)
    assert [t.id for t in due] == [added.id]
    lease = NOW + timedelta(seconds=60)
    claims = await asyncio.gather(*(repo.claim(added.id, f"i{n}", NOW, lease) for n in range(5)))
    won = [c for c in claims if c is not None]
    assert len(won) == 1
    holder = won[0].claimed_by
    assert holder is not None
    assert await repo.due(NOW, 10) == []  # held
    assert not await repo.finish(added.id, "someone-else", NOW, None)
    assert await repo.finish(added.id, holder, NOW, None)
    done = await repo.get(added.id)
    assert done is not None and done.status == "done" and done.runs == 1
    assert await repo.claim(added.id, "i9", NOW, lease) is None  # done: never again
    assert await repo.count_for(1) == 1  # only "not yet" is left


async def test_an_expired_claim_is_taken_again_and_a_recurring_task_moves_on(
    storage: Storage,
) -> None:
    repo = storage.tasks
    added = await repo.add(task())
    assert await repo.claim(added.id, "dead", NOW, NOW + timedelta(seconds=30)) is not None
    assert await repo.claim(added.id, "alive", NOW + timedelta(seconds=10), NOW) is None
    later = NOW + timedelta(seconds=31)
    taken = await repo.claim(added.id, "alive", later, later + timedelta(seconds=30))
    assert taken is not None and taken.claimed_by == "alive"
    tomorrow = NOW + timedelta(days=1)
    assert await repo.finish(added.id, "alive", later, tomorrow)
    moved = await repo.get(added.id)
    assert moved is not None and moved.status == "active" and moved.claimed_by is None
    assert moved.next_run.replace(tzinfo=UTC) == tomorrow
    assert await repo.due(later, 10) == []


async def test_a_claim_is_extended_only_by_its_holder(storage: Storage) -> None:
    repo = storage.tasks
    added = await repo.add(task())
    assert await repo.claim(added.id, "a", NOW, NOW + timedelta(seconds=30)) is not None
    assert not await repo.extend(added.id, "b", NOW + timedelta(minutes=5))  # not b's
    assert not await repo.extend("not-an-id", "a", NOW + timedelta(minutes=5))
    assert await repo.extend(added.id, "a", NOW + timedelta(minutes=5))
    # Past the first lease, the extended claim still holds.
    assert await repo.claim(added.id, "b", NOW + timedelta(seconds=31), NOW) is None
    later = NOW + timedelta(minutes=5, seconds=1)
    assert await repo.claim(added.id, "b", later, later + timedelta(seconds=30)) is not None
    assert not await repo.extend(added.id, "a", later + timedelta(minutes=5))  # lapsed


async def test_a_prompt_keeps_its_schedule_conversation_and_budget_note(storage: Storage) -> None:
    repo = storage.tasks
    rule = "RRULE:FREQ=DAILY;BYHOUR=8;BYMINUTE=0;BYSECOND=0"
    added = await repo.add(
        task().model_copy(update={"kind": "prompt", "schedule": rule, "timezone": "Europe/Oslo"})
    )
    assert added.conversation_id is None and not added.budget_told
    assert await repo.note(added.id, conversation_id="c1")
    assert await repo.note(added.id, budget_told=True)
    got = await repo.get(added.id)
    assert got is not None
    assert (got.kind, got.schedule, got.timezone) == ("prompt", rule, "Europe/Oslo")
    assert (got.conversation_id, got.budget_told) == ("c1", True)
    assert await repo.note(added.id, budget_told=False)
    assert (await repo.get(added.id)).budget_told is False  # type: ignore[union-attr]
    assert not await repo.note("0123456789abcdef01234567", budget_told=True)
    assert not await repo.note("not-an-id", conversation_id="c2")


async def test_a_resumed_task_is_due_no_earlier_than_now_and_only_its_owner_resumes_it(
    storage: Storage,
) -> None:
    repo = storage.tasks
    passed = await repo.add(task(at=NOW - timedelta(hours=1), text="passed while paused"))
    ahead = await repo.add(task(at=NOW + timedelta(hours=1), text="still ahead"))
    for t in (passed, ahead):
        assert await repo.set_status(1, t.id, "paused")
    assert await repo.due(NOW, 10) == []  # paused: never due
    assert not await repo.resume(2, passed.id, NOW)  # not theirs
    assert not await repo.resume(1, "no-such-id", NOW)
    assert await repo.resume(1, passed.id, NOW)
    assert await repo.resume(1, ahead.id, NOW)
    assert not await repo.resume(1, ahead.id, NOW)  # not paused any more
    now_due = await repo.get(passed.id)
    later = await repo.get(ahead.id)
    assert now_due is not None and later is not None
    assert now_due.status == "active" and now_due.next_run.replace(tzinfo=UTC) == NOW
    assert later.next_run.replace(tzinfo=UTC) == NOW + timedelta(hours=1)
    assert [t.id for t in await repo.due(NOW, 10)] == [passed.id]


async def test_counts_of_all_tasks_by_kind_and_status_with_runs_and_late_ones(
    storage: Storage,
) -> None:
    repo = storage.tasks
    assert await repo.counts(NOW) == TaskCounts()
    await repo.add(task(at=NOW - timedelta(minutes=10), text="late"))  # not run in time
    await repo.add(task(at=NOW + timedelta(hours=1), text="ahead"))
    paused = await repo.add(task(user=2, at=NOW - timedelta(hours=1), text="paused"))
    await repo.set_status(2, paused.id, "paused")  # due, but paused: not late
    prompt = task(user=3, at=NOW - timedelta(minutes=1), text="news")
    daily = await repo.add(prompt.model_copy(update={"kind": "prompt", "schedule": "day 8:00"}))
    paused_prompt = await repo.add(prompt.model_copy(update={"kind": "prompt"}))
    await repo.set_status(3, paused_prompt.id, "paused")
    done = await repo.add(task(at=NOW - timedelta(minutes=1), text="done"))
    assert await repo.claim(done.id, "i1", NOW, NOW + timedelta(seconds=30)) is not None
    assert await repo.finish(done.id, "i1", NOW, None)
    assert await repo.claim(daily.id, "i1", NOW, NOW + timedelta(seconds=30)) is not None
    assert await repo.finish(daily.id, "i1", NOW, NOW + timedelta(days=1))
    counts = await repo.counts(NOW - timedelta(minutes=5))
    assert counts == TaskCounts(
        reminders_active=2,
        reminders_paused=1,
        prompts_active=1,
        prompts_paused=1,
        runs=2,
        late=1,
    )
