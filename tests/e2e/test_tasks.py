"""/tasks end to end on the emulator: a paused reminder does not fire at its time and fires
once resumed; a deleted one never fires. A user who blocked the bot has their tasks paused."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from app.storage import Storage
from tests.e2e.conftest import FRIEND_ID, Running, eventually
from tests.tg_emulator import EmuMessage, TelegramEmulator
from tests.tg_emulator.users import SimUser


def reminder(text: str):  # type: ignore[no-untyped-def]
    return lambda m: m.text == f"⏰ Reminder: {text}"


def sent(user: SimUser, text: str) -> int:
    return sum(m.text == f"⏰ Reminder: {text}" for m in user.messages)


def button_with(menu: EmuMessage, part: str) -> str:
    found = [b["text"] for b in menu.buttons if part in b["text"]]
    assert found, f"no button with {part!r}: {menu.button_texts}"
    return str(found[0])


async def remind(tg: TelegramEmulator, user: SimUser, args: str) -> None:
    await user.send(f"/remind {args}")
    await tg.wait_for_message(user.id, lambda m: m.text.startswith("⏰ I'll"))


async def open_tasks(tg: TelegramEmulator, user: SimUser) -> EmuMessage:
    await user.send("/tasks")
    return await tg.wait_for_message(user.id, lambda m: m.text.startswith("📋"))


async def due_by(storage: Storage, user_id: int, *texts: str) -> datetime:
    """When the last of the user's tasks of these texts is due."""
    tasks = [t for t in await storage.tasks.list_for(user_id) if t.text in texts]
    assert len(tasks) == len(texts)
    return max(t.next_run.replace(tzinfo=t.next_run.tzinfo or UTC) for t in tasks)


async def sleep_until(when: datetime) -> None:
    await asyncio.sleep(max(0.0, (when - datetime.now(UTC)).total_seconds()) + 0.2)


async def test_tasks_pause_resume_and_delete_end_to_end(running: Running) -> None:
    tg, storage = running.tg, running.storage
    scheduler = running.app.scheduler
    assert scheduler is not None
    friend = tg.user(FRIEND_ID, "Fred")
    await remind(tg, friend, "3s alpha")
    await remind(tg, friend, "3s beta")
    await remind(tg, friend, "1h gamma")
    both_due = await due_by(storage, FRIEND_ID, "alpha", "beta")

    menu = await open_tasks(tg, friend)
    assert "scheduled prompts: 3" in menu.text
    await friend.press(menu, button_with(menu, "alpha"))
    await tg.wait_until(lambda: "«alpha»" in menu.text)
    await friend.press(menu, "⏸ Pause")
    await tg.wait_until(lambda: "▶️ Resume" in menu.button_texts)
    await friend.press(menu, "‹ Back")
    await tg.wait_until(lambda: any(t.startswith("⏸⏰") for t in menu.button_texts))
    await friend.press(menu, button_with(menu, "beta"))
    await tg.wait_until(lambda: "«beta»" in menu.text)
    await friend.press(menu, "🗑 Delete")
    await tg.wait_until(lambda: "Delete this task?" in menu.text)
    await friend.press(menu, "🗑 Delete")
    await tg.wait_until(lambda: "scheduled prompts: 2" in menu.text)
    assert not any("beta" in t for t in menu.button_texts)

    # Both were due while the scheduler ran: the paused one waits, the deleted one is gone.
    await sleep_until(both_due)
    scheduler.start()
    try:
        await asyncio.sleep(2.5)  # a few ticks
        assert sent(friend, "alpha") == 0 and sent(friend, "beta") == 0
        paused = [t for t in await storage.tasks.list_for(FRIEND_ID) if t.text == "alpha"]
        assert len(paused) == 1 and paused[0].status == "paused" and paused[0].runs == 0

        menu = await open_tasks(tg, friend)
        await friend.press(menu, button_with(menu, "alpha"))
        await tg.wait_until(lambda: "«alpha»" in menu.text)
        answer = await friend.press(menu, "▶️ Resume")
        assert answer is not None and "it runs now" in (answer.text or "")
        await tg.wait_for_message(friend.id, reminder("alpha"), timeout=15)
        await asyncio.sleep(2.5)  # more ticks: nothing is sent twice, the deleted one never
        assert sent(friend, "alpha") == 1 and sent(friend, "beta") == 0
        assert [t.text for t in await storage.tasks.list_for(FRIEND_ID)] == ["gamma"]
    finally:
        await scheduler.stop()


async def test_a_user_who_blocked_the_bot_has_their_tasks_paused(running: Running) -> None:
    tg, storage = running.tg, running.storage
    scheduler = running.app.scheduler
    assert scheduler is not None
    friend = tg.user(FRIEND_ID, "Fred")
    await remind(tg, friend, "2s ping")
    await remind(tg, friend, "1h later")
    await remind(tg, friend, "2h much later")
    friend.block()
    scheduler.start()
    try:

        async def all_paused() -> bool:
            tasks = await storage.tasks.list_for(FRIEND_ID)
            return [(t.text, t.status) for t in tasks] == [
                ("later", "paused"),
                ("much later", "paused"),
            ]

        # "ping" met 403 Forbidden: bot was blocked by the user; it ended, the rest paused.
        await eventually(all_paused, "the blocked user's tasks paused")
        assert sent(friend, "ping") == 0
        assert scheduler.stats.ran == 1
    finally:
        await scheduler.stop()
    friend.block(False)
    menu = await open_tasks(tg, friend)
    assert sum(t.startswith("⏸⏰") for t in menu.button_texts) == 2
