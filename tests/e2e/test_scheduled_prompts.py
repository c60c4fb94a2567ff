"""Scheduled prompts end to end, on the emulator with the real aiogram Bot and the fake
model: /every runs a prompt at each run of its schedule (the scheduler driven by a test
clock), charged and delivered, in a conversation of its own; the model sets tasks through
its tool, with a cancel button; a spent budget skips runs and says so once; the caps."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pymongo import MongoClient

from app.services.schedule.runner import Scheduler
from app.services.schedule.service import next_run_of
from app.services.schedule.settings import ScheduleSettings
from app.storage import Storage, open_storage
from app.storage.tasks import ScheduledTask
from tests.e2e.conftest import ADMIN_ID, FRIEND_ID, Running, StartBot, usage_recorded
from tests.e2e.test_budget_hard_limit import priced_llm
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.storage.mongo_server import MongoTarget, fresh_db_name, mongo_label

NEWS_PROMPT = "the three most important AI news, with sources"


class FakeClock:
    """The scheduler's clock: set to a task's due time, moved on by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def scheduler_for(running: Running, clock: Callable[[], datetime]) -> Scheduler:
    """The app's own runner, under a test clock."""
    runner = running.app.task_runner
    assert runner is not None
    return Scheduler(
        running.storage.tasks,
        runner.run,
        tell_missed=runner.tell_missed,
        next_run=next_run_of,
        clock=clock,
    )


async def run_due(scheduler: Scheduler) -> int:
    started = await scheduler.tick()
    await scheduler.drain()
    return started


async def only_task(storage: Storage) -> ScheduledTask:
    tasks = await storage.tasks.list_for(FRIEND_ID)
    assert len(tasks) == 1, tasks
    return tasks[0]


def tool_names(request_json: dict[str, object]) -> list[str]:
    tools = request_json.get("tools") or []
    assert isinstance(tools, list)
    return [t["function"]["name"] for t in tools]


async def test_every_runs_its_prompt_charged_in_a_conversation_of_its_own(
    start_bot: StartBot, fake_llm: FakeOpenAI
) -> None:
    async with start_bot(llm=priced_llm(fake_llm)) as running:
        tg, fake, storage = running.tg, running.fake_llm, running.storage
        friend = tg.user(FRIEND_ID, "Fred")
        fake.on("hello", Reply(text="Hi Fred!"))
        await friend.send("hello")
        await tg.wait_for_message(friend.id, lambda m: m.text == "Hi Fred!")
        await usage_recorded(storage, 1)
        active = await storage.conversations.active(FRIEND_ID, FRIEND_ID)

        await friend.send("/timezone Europe/Oslo")
        await tg.wait_for_message(friend.id, lambda m: m.text.startswith("🕰 Time zone set"))
        await friend.send(f"/every day 8:00 {NEWS_PROMPT}")
        note = await tg.wait_for_message(friend.id, lambda m: m.text.startswith("🔁 Scheduled"))
        assert "every day at 08:00 (Europe/Oslo)" in note.text and NEWS_PROMPT in note.text
        assert [b["text"] for b in note.buttons] == ["❌ Cancel"]
        task = await only_task(storage)
        assert task.kind == "prompt" and task.text == NEWS_PROMPT
        assert task.schedule == "RRULE:FREQ=DAILY;BYHOUR=8;BYMINUTE=0;BYSECOND=0"
        assert task.next_run.astimezone(ZoneInfo("Europe/Oslo")).strftime("%H:%M") == "08:00"
        calls_before = len(fake.chat_requests)

        fake.script(Reply(text="NEWS: one, two, three."))
        clock = FakeClock(task.next_run)
        scheduler = scheduler_for(running, clock)
        assert await run_due(scheduler) == 1
        await tg.wait_for_message(friend.id, lambda m: m.text.startswith("NEWS: one, two"))
        await usage_recorded(storage, 2)
        assert len(fake.chat_requests) == calls_before + 1
        sent = fake.chat_requests[-1]
        texts = [str(m.get("content")) for m in sent.messages]
        assert NEWS_PROMPT in texts[-1]
        assert not any("hello" in t for t in texts)  # not the user's chat
        assert "schedule" not in tool_names(sent.json)  # a run sets no tasks itself
        assert "remember" not in tool_names(sent.json)
        # Charged to the user: the run's usage record has a cost.
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        assert await storage.usage.cost_since(FRIEND_ID, midnight) > 0

        ran = await only_task(storage)
        assert ran.runs == 1 and ran.status == "active"
        assert ran.next_run == task.next_run + timedelta(days=1)  # moved on
        assert ran.conversation_id is not None and ran.conversation_id != active.id
        # The user's active chat is still the one they were in, untouched.
        still = await storage.conversations.active(FRIEND_ID, FRIEND_ID)
        assert still.id == active.id and len(still.turns) == 2
        own = await storage.conversations.get(ran.conversation_id)
        assert own is not None and not own.active
        assert [t.role for t in own.turns] == ["user", "assistant"]
        assert own.turns[1].content == "NEWS: one, two, three."

        # The next day: the same conversation, with the first run in its history.
        fake.script(Reply(text="NEWS: four, five, six."))
        clock.now = ran.next_run
        assert await run_due(scheduler) == 1
        await tg.wait_for_message(friend.id, lambda m: m.text.startswith("NEWS: four"))
        again = await only_task(storage)
        assert again.conversation_id == ran.conversation_id and again.runs == 2
        assert again.next_run == ran.next_run + timedelta(days=1)
        history = [str(m.get("content")) for m in fake.chat_requests[-1].messages]
        assert "NEWS: one, two, three." in history
        own = await storage.conversations.get(ran.conversation_id)
        assert own is not None and len(own.turns) == 4
        assert (await storage.conversations.active(FRIEND_ID, FRIEND_ID)).id == active.id
        # Not due before its time.
        clock.now = again.next_run - timedelta(seconds=1)
        assert await run_due(scheduler) == 0


async def test_the_model_sets_a_reminder_in_words_and_its_owner_cancels_it(
    running: Running,
) -> None:
    tg, fake, storage = running.tg, running.fake_llm, running.storage
    fake.script(
        Reply(
            tool_calls=[
                {
                    "name": "schedule",
                    "arguments": {"kind": "reminder", "when": "20m", "text": "call mum"},
                }
            ]
        ),
        Reply(text="Sure, in 20 minutes."),
    )
    friend = tg.user(FRIEND_ID, "Fred")
    before = datetime.now(UTC)
    await friend.send("remind me in 20 minutes to call mum")
    note = await tg.wait_for_message(friend.id, lambda m: m.text.startswith("⏰ Reminder set"))
    assert note.text.endswith("(UTC): call mum")
    assert [b["text"] for b in note.buttons] == ["❌ Cancel"]
    await tg.wait_for_message(friend.id, lambda m: m.text == "Sure, in 20 minutes.")
    assert "schedule" in tool_names(fake.chat_requests[0].json)
    task = await only_task(storage)
    assert task.kind == "reminder" and task.text == "call mum" and task.schedule is None
    assert timedelta(minutes=19) < task.next_run - before < timedelta(minutes=21)

    stranger = tg.user(ADMIN_ID, "Admin")  # anyone but the owner
    answer = await stranger.press(note, "❌ Cancel")
    assert answer is not None and answer.show_alert
    assert answer.text == "This button belongs to the person who set the task."
    assert await storage.tasks.count_for(FRIEND_ID) == 1

    data = note.buttons[0]["callback_data"]
    answer = await friend.press(note, "❌ Cancel")
    assert answer is not None and not answer.show_alert
    await tg.wait_until(lambda: note.text == "❌ Cancelled.")
    assert await storage.tasks.count_for(FRIEND_ID) == 0
    # The same press again (a stale button), and forged data: an alert, nothing else.
    stale = await friend.send_callback(data, note)
    assert stale is not None and stale.show_alert and stale.text == "This task is no longer there."
    forged = await friend.send_callback(f"untask:{FRIEND_ID}:{'0' * 24}", note)
    assert forged is not None and forged.show_alert


async def test_the_model_schedules_a_prompt_within_the_caps(start_bot: StartBot) -> None:
    async with start_bot(schedule=ScheduleSettings(min_interval_minutes=60)) as running:
        tg, fake, storage = running.tg, running.fake_llm, running.storage
        every = {"kind": "prompt", "when": "day 8:00", "text": "the weather in Oslo"}
        too_often = {"kind": "prompt", "when": "10m", "text": "spam"}
        hostile = {"kind": "prompt", "when": "day 8:00 " + "x" * 500, "text": "y"}
        fake.script(
            Reply(
                tool_calls=[
                    {"name": "schedule", "arguments": every},
                    {"name": "schedule", "arguments": too_often},
                    {"name": "schedule", "arguments": hostile},
                    {"name": "schedule", "arguments": {"kind": "cron", "when": 5}},
                ]
            ),
            Reply(text="Done."),
        )
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("every morning at 8 send me the weather in Oslo")
        note = await tg.wait_for_message(friend.id, lambda m: m.text.startswith("🔁 Scheduled"))
        assert note.text.startswith("🔁 Scheduled every day at 08:00 (UTC)")
        await tg.wait_for_message(friend.id, lambda m: m.text == "Done.")
        task = await only_task(storage)  # the other three were refused
        assert (task.kind, task.text) == ("prompt", "the weather in Oslo")
        results = [
            str(m.get("content")) for m in fake.chat_requests[-1].messages if m["role"] == "tool"
        ]
        assert results[0].startswith("Scheduled;")
        assert "at least 60 minutes apart" in results[1]
        assert results[2].startswith("Nothing set") and results[3].startswith("Nothing set")


async def test_a_spent_budget_skips_runs_and_says_so_once(
    start_bot: StartBot, fake_llm: FakeOpenAI
) -> None:
    async with start_bot(llm=priced_llm(fake_llm)) as running:
        tg, fake, storage = running.tg, running.fake_llm, running.storage
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("/every 2h a quote of the day")
        await tg.wait_for_message(friend.id, lambda m: m.text.startswith("🔁 Scheduled every 2 h"))
        task = await only_task(storage)
        await storage.users.set_budget(FRIEND_ID, 1.0)
        assert await storage.spend.reserve(FRIEND_ID, datetime.now(UTC).date(), 1.0, None)
        clock = FakeClock(task.next_run)
        scheduler = scheduler_for(running, clock)

        assert await run_due(scheduler) == 1
        notice = await tg.wait_for_message(friend.id, lambda m: "skipped" in m.text)
        assert "budget for today is spent" in notice.text and "a quote of the day" in notice.text
        first = await only_task(storage)
        assert first.budget_told and first.next_run == task.next_run + timedelta(hours=2)
        clock.now = first.next_run
        assert await run_due(scheduler) == 1  # a second due run: skipped without a word
        await tg.wait_quiet()
        second = await only_task(storage)
        assert second.next_run == first.next_run + timedelta(hours=2) and second.runs == 2
        assert [m for m in friend.messages if "skipped" in m.text] == [notice]
        assert fake.chat_requests == []  # no model call, nothing spent

        # Budget again: the run goes through, and a later spent budget is told again.
        await storage.users.set_budget(FRIEND_ID, 10.0)
        fake.on("quote", Reply(text="QUOTE: carpe diem."))
        clock.now = second.next_run
        assert await run_due(scheduler) == 1
        await tg.wait_for_message(friend.id, lambda m: m.text.startswith("QUOTE:"))
        assert not (await only_task(storage)).budget_told


async def test_a_user_whose_access_is_revoked_gets_nothing_and_their_tasks_pause(
    start_bot: StartBot,
) -> None:
    approved = 555
    async with start_bot() as running:
        tg, fake, storage = running.tg, running.fake_llm, running.storage
        await storage.users.set_approved(approved, True)
        ann = tg.user(approved, "Ann")
        await ann.send("/every day 9:00 my horoscope")
        await tg.wait_for_message(ann.id, lambda m: m.text.startswith("🔁 Scheduled"))
        task = (await storage.tasks.list_for(approved))[0]
        await storage.users.set_approved(approved, False)
        before = len(ann.messages)
        assert await run_due(scheduler_for(running, FakeClock(task.next_run))) == 1
        await tg.wait_quiet()
        assert len(ann.messages) == before and fake.chat_requests == []
        assert (await storage.tasks.list_for(approved))[0].status == "paused"


async def test_the_shortest_interval_and_the_count_are_capped(start_bot: StartBot) -> None:
    settings = ScheduleSettings(max_per_user=2, min_interval_minutes=60)
    async with start_bot(schedule=settings) as running:
        tg, storage = running.tg, running.storage
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("/every 30m check the news")
        refused = await tg.wait_for_message(friend.id, lambda m: m.text.startswith("🔁"))
        assert "at most once every 60 minutes" in refused.text
        await friend.send("/every day 8:00")
        empty = await tg.wait_for_message(friend.id, lambda m: "what should I answer" in m.text)
        assert empty is not None
        await friend.send("/every sometimes the news")
        usage = await tg.wait_for_message(friend.id, lambda m: m.text.startswith("🔁 Write"))
        assert "/every day 8:00" in usage.text
        assert await storage.tasks.count_for(FRIEND_ID) == 0
        await friend.send("/every 1h the news")
        await tg.wait_for_message(friend.id, lambda m: m.text.startswith("🔁 Scheduled every 1 h"))
        await friend.send("/remind 1d water the plants")
        await tg.wait_for_message(friend.id, lambda m: m.text.startswith("⏰ I'll remind"))
        await friend.send("/every monday 9:00 plan the week")
        full = await tg.wait_for_message(friend.id, lambda m: "the most I keep" in m.text)
        assert full.text == (
            "🔁 You already have 2 reminders and scheduled prompts, the most I keep."
        )
        assert await storage.tasks.count_for(FRIEND_ID) == 2


async def test_the_schedule_tool_can_be_turned_off(start_bot: StartBot) -> None:
    async with start_bot(schedule=ScheduleSettings(tool=False)) as running:
        friend = running.tg.user(FRIEND_ID, "Fred")
        await friend.send("remind me later")
        await running.tg.wait_for_message(friend.id)
        assert "schedule" not in tool_names(running.fake_llm.chat_requests[-1].json)


async def test_a_run_missed_while_down_is_skipped_with_a_note_and_moves_on(
    running: Running,
) -> None:
    tg, fake, storage = running.tg, running.fake_llm, running.storage
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("/every day 8:00 the news")
    await tg.wait_for_message(friend.id, lambda m: m.text.startswith("🔁 Scheduled"))
    task = await only_task(storage)
    down_until = task.next_run + timedelta(days=2, hours=7)  # past SCHEDULE_CATCHUP_HOURS
    scheduler = scheduler_for(running, FakeClock(down_until))
    assert await run_due(scheduler) == 1
    note = await tg.wait_for_message(friend.id, lambda m: "offline" in m.text)
    assert note.text.endswith("so that run was skipped: the news")
    moved = await only_task(storage)
    assert moved.next_run == task.next_run + timedelta(days=3)  # the next 8:00 after now
    assert fake.chat_requests == [] and scheduler.stats.missed == 1


async def test_a_budget_too_small_for_the_call_is_refused_before_it_and_told_once(
    start_bot: StartBot, fake_llm: FakeOpenAI
) -> None:
    # Something is left, less than the call reserves: the provider refuses it before any
    # request goes out (the run's sink keeps the refusal to itself), and the user is told once.
    async with start_bot(llm=priced_llm(fake_llm)) as running:
        tg, fake, storage = running.tg, running.fake_llm, running.storage
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("/every 1h a quote")
        await tg.wait_for_message(friend.id, lambda m: m.text.startswith("🔁 Scheduled every 1 h"))
        task = await only_task(storage)
        shown = len(friend.chat.bot_messages)
        await storage.users.set_budget(FRIEND_ID, 1.0)
        assert await storage.spend.reserve(FRIEND_ID, datetime.now(UTC).date(), 0.99999, None)
        clock = FakeClock(task.next_run)
        scheduler = scheduler_for(running, clock)
        for _ in range(2):
            assert await run_due(scheduler) == 1
            clock.now = (await only_task(storage)).next_run
        await tg.wait_quiet()
        notes = [m.text for m in friend.chat.bot_messages[shown:]]  # nothing but the note
        assert len(notes) == 1 and "skipped: your budget for today is spent" in notes[0]
        assert fake.chat_requests == []
        assert (await only_task(storage)).budget_told


@pytest.fixture
async def mongo_storage(mongo: MongoTarget) -> AsyncIterator[Storage]:
    name = fresh_db_name("e2e_every")
    storage = await open_storage(mongo.uri, db_name=name)
    yield storage
    await storage.close()
    with MongoClient(mongo.uri) as client:
        client.drop_database(name)


@pytest.mark.mongodb
@pytest.mark.parametrize("server", [mongo_label()])
async def test_a_scheduled_prompt_runs_on_mongodb(
    start_bot: StartBot, mongo_storage: Storage, server: str
) -> None:
    async with start_bot(storage=mongo_storage) as running:
        tg, fake, storage = running.tg, running.fake_llm, running.storage
        friend = tg.user(FRIEND_ID, "Fred")
        fake.on("hello", Reply(text="Hi!"))
        await friend.send("hello")
        await tg.wait_for_message(friend.id, lambda m: m.text == "Hi!")
        active = await storage.conversations.active(FRIEND_ID, FRIEND_ID)
        await friend.send("/every 1h a fun fact")
        await tg.wait_for_message(friend.id, lambda m: m.text.startswith("🔁 Scheduled every 1 h"))
        task = await only_task(storage)
        fake.script(Reply(text="FACT: octopuses have three hearts."))
        clock = FakeClock(task.next_run + timedelta(seconds=2))
        assert await run_due(scheduler_for(running, clock)) == 1
        await tg.wait_for_message(friend.id, lambda m: m.text.startswith("FACT:"))
        ran = await only_task(storage)
        assert ran.runs == 1 and ran.next_run == task.next_run + timedelta(hours=1)
        assert ran.claimed_by is None and ran.conversation_id is not None
        own = await storage.conversations.get(ran.conversation_id)
        assert own is not None and not own.active and len(own.turns) == 2
        assert (await storage.conversations.active(FRIEND_ID, FRIEND_ID)).id == active.id
