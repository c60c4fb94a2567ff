"""Reminders end to end: /remind arrives once, at its time; /timezone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from app.storage.tasks import ScheduledTask
from tests.e2e.conftest import FRIEND_ID, Running, StartBot
from tests.e2e.test_scheduled_prompts import FakeClock, run_due, scheduler_for

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


async def test_a_reminder_arrives_once_about_when_asked(running: Running) -> None:
    tg = running.tg
    scheduler = running.app.scheduler
    assert scheduler is not None
    scheduler.start()
    try:
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("/remind 2s stretch your legs")
        set_note = await tg.wait_for_message(friend.id, lambda m: m.text.startswith("⏰ I'll"))
        assert "(UTC)" in set_note.text and "/timezone" in set_note.text
        loop = asyncio.get_running_loop()
        sent = loop.time()
        await tg.wait_for_message(
            friend.id, lambda m: m.text == "⏰ Reminder: stretch your legs", timeout=15
        )
        assert loop.time() - sent >= 1.0  # not before its time
        await asyncio.sleep(2.5)  # a few more ticks: it is not sent again
        reminders = [m for m in friend.messages if m.text == "⏰ Reminder: stretch your legs"]
        assert len(reminders) == 1
        assert await running.app.storage.tasks.count_for(FRIEND_ID) == 0
    finally:
        await scheduler.stop()


async def test_timezone_is_validated_and_used(running: Running) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("/timezone Mars/Olympus")
    bad = await tg.wait_for_message(friend.id, lambda m: m.text.startswith("🕰"))
    assert "don't know" in bad.text
    await friend.send("/timezone Europe/Oslo")
    await tg.wait_for_message(friend.id, lambda m: "Europe/Oslo" in m.text and "set" in m.text)
    await friend.send("/remind tomorrow 9:00 dentist")
    note = await tg.wait_for_message(friend.id, lambda m: m.text.startswith("⏰ I'll"))
    assert "09:00 (Europe/Oslo)" in note.text and "/timezone" not in note.text


async def test_a_reminder_just_set_is_cancelled_by_its_button(running: Running) -> None:
    tg = running.tg
    scheduler = running.app.scheduler
    assert scheduler is not None
    scheduler.start()
    try:
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("/remind 2s never mind")
        note = await tg.wait_for_message(friend.id, lambda m: m.text.startswith("⏰ I'll"))
        assert [b["text"] for b in note.buttons] == ["❌ Cancel"]
        answer = await friend.press(note, "❌ Cancel")
        assert answer is not None and not answer.show_alert
        await tg.wait_until(lambda: note.text == "❌ Cancelled.")
        assert await running.app.storage.tasks.count_for(FRIEND_ID) == 0
        await asyncio.sleep(3.5)  # past its time: it never comes
        assert not [m for m in friend.messages if m.text == "⏰ Reminder: never mind"]
    finally:
        await scheduler.stop()


async def test_a_reminder_of_a_user_whose_access_is_revoked_is_not_sent(
    start_bot: StartBot,
) -> None:
    approved = 556
    async with start_bot() as running:
        tg, storage = running.tg, running.storage
        await storage.users.set_approved(approved, True)
        ann = tg.user(approved, "Ann")
        await ann.send("/remind 10m spam the group")
        await tg.wait_for_message(ann.id, lambda m: m.text.startswith("⏰ I'll"))
        task = (await storage.tasks.list_for(approved))[0]
        await storage.users.set_approved(approved, False)
        before = len(ann.messages)
        assert await run_due(scheduler_for(running, FakeClock(task.next_run))) == 1
        await tg.wait_quiet()
        assert len(ann.messages) == before  # nothing posted
        # A one-off reminder is over (its time is gone); the user's other tasks pause.
        assert [t.status for t in await storage.tasks.list_for(approved)] == []
        # Nor the note that a reminder was missed while the bot was down.
        stale = await storage.tasks.add(
            ScheduledTask(id="", user_id=approved, chat_id=approved, text="old", next_run=NOW)
        )
        clock = FakeClock(NOW + timedelta(hours=10))
        assert await run_due(scheduler_for(running, clock)) == 1
        await tg.wait_quiet()
        assert len(ann.messages) == before
        assert (await storage.tasks.get(stale.id)).status == "done"  # type: ignore[union-attr]


async def test_a_group_that_removed_the_bot_pauses_only_its_own_tasks(running: Running) -> None:
    tg, storage = running.tg, running.storage
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("/timezone")  # the user is known
    await tg.wait_for_message(friend.id, lambda m: m.text.startswith("🕰"))
    group = -9001
    tg.group(group, "Team")
    tg.chat(group).blocked = True  # sends to it get 403 Forbidden, as after a kick
    now = datetime.now(UTC)
    daily = "RRULE:FREQ=DAILY;BYHOUR=8;BYMINUTE=0;BYSECOND=0"
    there = await storage.tasks.add(
        ScheduledTask(
            id="", user_id=FRIEND_ID, chat_id=group, text="team", next_run=now, schedule=daily
        )
    )
    mine = await storage.tasks.add(
        ScheduledTask(
            id="",
            user_id=FRIEND_ID,
            chat_id=FRIEND_ID,
            text="mine",
            next_run=now + timedelta(hours=1),
        )
    )
    assert await run_due(scheduler_for(running, FakeClock(now))) == 1
    status = {t.id: t.status for t in await storage.tasks.list_for(FRIEND_ID)}
    # The user did not block the bot: their private reminder stays active; the group's
    # recurring one pauses rather than failing at every run.
    assert status == {there.id: "paused", mine.id: "active"}
