"""Groups that catch you up (issue 31): the bot keeps what it sees said in a group,
bounded and expiring; /catchup (or "what did I miss?" asked of it) summarizes what was
said since the asker last wrote there, in one call charged to them; strangers cost
nothing; GROUP_TRIGGER words address the bot as a mention does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio

from app.services.groups.settings import GroupSettings
from llmdoor import LLMSettings
from tests.e2e.conftest import (
    ADMIN_ID,
    FAKE_MODEL,
    FRIEND_ID,
    STRANGER_ID,
    Running,
    StartBot,
    eventually,
)
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.tg_emulator.server import TelegramEmulator


def priced_llm(running_fake_url: str) -> LLMSettings:
    return LLMSettings(
        default_model=FAKE_MODEL,
        api_base=running_fake_url,
        api_key="sk-test",
        unpriced_input_per_mtok=1.0,
        unpriced_output_per_mtok=2.0,
        gateway_discovery=False,
        max_retries=0,
        timeout=5,
    )


@pytest_asyncio.fixture
async def groups(
    start_bot: StartBot, tg: TelegramEmulator, fake_llm: FakeOpenAI
) -> AsyncIterator[Running]:
    """A bot that sees every group message (privacy mode off), with priced calls."""
    tg.privacy_mode = False
    async with start_bot(llm=priced_llm(fake_llm.base_url)) as running:
        yield running


def prompt_of(running: Running) -> str:
    [request] = running.fake_llm.chat_requests
    return str(request.messages[-1]["content"])


async def test_catchup_summarizes_what_was_said_since_the_asker_last_wrote(
    groups: Running,
) -> None:
    running = groups
    tg, fake = running.tg, running.fake_llm
    fred = tg.user(FRIEND_ID, "Fred")
    alice = tg.user(STRANGER_ID, "Alice")  # a stranger: her words are history all the same
    boss = tg.user(ADMIN_ID, "Boss")
    team = tg.group(-5001, "Team")
    other = tg.group(-5002, "Elsewhere")
    await alice.send_in(team, "early news: the old plan")
    await fred.send_in(team, "I am off for the day")
    await alice.send_in(team, "the release moved to Friday")
    await boss.send_photo(group=team, caption="the new logo")
    await boss.send_in(other, "secret of another chat")
    await tg.wait_quiet()
    fake.script(Reply(text="You missed: release on Friday, new logo.", prompt_tokens=400))
    await fred.send_in(team, "/catchup")
    answer = await tg.wait_for_message(team.id, lambda m: m.text.startswith("You missed"))
    assert answer.extra.get("reply_to_message_id") or answer.reply_to_message_id
    assert answer.buttons == []  # no conversation buttons under a catch-up
    prompt = prompt_of(running)
    assert "Alice: the release moved to Friday" in prompt
    assert "Boss: [photo] the new logo" in prompt
    assert "the old plan" not in prompt and "I am off" not in prompt  # before Fred wrote
    assert "secret of another chat" not in prompt  # another chat: never
    assert "/catchup" not in prompt
    assert "(count: 2)" in prompt
    # Charged to Fred: one chat call with its real cost.
    await running.storage.usage_sink.flush()

    async def charged() -> bool:
        records = [r async for r in running.storage.usage.iter_records(user_id=FRIEND_ID)]
        return len(records) == 1

    await eventually(charged, "the catch-up's usage record")
    [record] = [r async for r in running.storage.usage.iter_records(user_id=FRIEND_ID)]
    assert record.kind == "chat" and record.prompt_tokens == 400
    assert record.cost_usd == pytest.approx(400e-6 + record.completion_tokens * 2e-6)
    # The catch-up is not a turn of Fred's conversation in the group.
    assert await running.storage.conversations.count(FRIEND_ID, team.id) == 0


async def test_nothing_new_costs_no_call_and_is_said_in_the_users_language(
    groups: Running,
) -> None:
    running = groups
    tg, fake = running.tg, running.fake_llm
    fred = tg.user(FRIEND_ID, "Fred")
    ivan = tg.user(ADMIN_ID, "Иван", language_code="ru")
    team = tg.group(-5003, "Team")
    await fred.send_in(team, "hello everyone")
    await fred.send_in(team, "/catchup")
    await tg.wait_for_message(team.id, lambda m: m.text.startswith("Nothing new here"))
    await ivan.send_in(team, "привет")
    await ivan.send_in(team, "/catchup")
    await tg.wait_for_message(team.id, lambda m: "ничего нового" in m.text)
    assert fake.chat_requests == []
    # In a private chat there is nothing to catch up on: it says where it works.
    await fred.send("/catchup")
    await tg.wait_for_message(fred.id, lambda m: "works in groups" in m.text)
    assert fake.chat_requests == []


@pytest.mark.parametrize(
    ("language", "question"),
    [("en", "what did I miss?"), ("ru", "что я пропустил?")],
)
async def test_what_did_i_miss_asked_of_the_bot(
    groups: Running, language: str, question: str
) -> None:
    running = groups
    tg, fake = running.tg, running.fake_llm
    fred = tg.user(FRIEND_ID, "Fred", language_code=language)
    alice = tg.user(STRANGER_ID, "Alice")
    team = tg.group(-5004, "Team")
    await alice.send_in(team, "lunch at noon on the roof")
    await tg.wait_quiet()
    fake.script(Reply(text="Lunch is at noon."))
    await fred.send_in(team, question, mention_bot=True)
    await tg.wait_for_message(team.id, lambda m: m.text == "Lunch is at noon.")
    prompt = prompt_of(running)
    assert "Alice: lunch at noon on the roof" in prompt
    assert question not in prompt  # the question itself is not what was missed


async def test_strangers_catch_up_costs_nothing(groups: Running) -> None:
    running = groups
    tg, fake = running.tg, running.fake_llm
    fred = tg.user(FRIEND_ID, "Fred")
    alice = tg.user(STRANGER_ID, "Alice")
    team = tg.group(-5005, "Team")
    await fred.send_in(team, "plans for the weekend are set")
    start = len(team.messages)
    await alice.send_in(team, "/catchup")
    await alice.send_in(team, "what did I miss?", mention_bot=True)
    await tg.wait_quiet()
    assert fake.chat_requests == []
    assert [m for m in team.messages[start:] if m.from_bot] == []
    # Her words are history, though: Fred's catch-up includes them.
    fake.script(Reply(text="Alice asked."))
    await fred.send_in(team, "/catchup")
    await tg.wait_for_message(team.id, lambda m: m.text == "Alice asked.")
    assert "Alice: @test_llm_bot what did I miss?" in prompt_of(running)


async def test_group_history_is_bounded_and_expires(
    start_bot: StartBot, tg: TelegramEmulator
) -> None:
    tg.privacy_mode = False
    async with start_bot(groups=GroupSettings(history_size=4, history_hours=2)) as running:
        fake = running.fake_llm
        history = running.app.group_history
        assert history is not None
        fred = tg.user(FRIEND_ID, "Fred")
        alice = tg.user(STRANGER_ID, "Alice")
        team = tg.group(-5006, "Team")
        for n in range(1, 7):
            await alice.send_in(team, f"note {n}")
        await tg.wait_quiet()
        await history.flush(5)
        kept = await running.storage.group_history.recent(
            team.id, thread_id=None, now=history.now(), limit=100
        )
        assert [m.text for m in kept] == ["note 3", "note 4", "note 5", "note 6"]
        fake.script(Reply(text="Notes."))
        await fred.send_in(team, "/catchup")
        await tg.wait_for_message(team.id, lambda m: m.text == "Notes.")
        prompt = prompt_of(running)
        # The /catchup itself took a place: three notes are left to summarize.
        assert "note 4" in prompt and "note 6" in prompt
        assert "note 3" not in prompt and "note 1" not in prompt
        # Two hours and a minute later everything has expired: nothing to catch up on.
        real = history.clock
        history.clock = lambda: real() + timedelta(hours=2, minutes=1)
        await fred.send_in(team, "/catchup")
        await tg.wait_for_message(team.id, lambda m: m.text.startswith("Nothing new here"))
        assert len(fake.chat_requests) == 1
        # Private chats are never recorded.
        await fred.send("/help")
        await tg.wait_for_message(fred.id)
        await history.flush(5)
        assert (
            await running.storage.group_history.recent(
                fred.id, thread_id=None, now=real(), limit=100
            )
            == []
        )


async def test_catchup_reads_only_its_forum_topic(groups: Running) -> None:
    running = groups
    tg, fake = running.tg, running.fake_llm
    fred = tg.user(FRIEND_ID, "Fred")
    alice = tg.user(STRANGER_ID, "Alice")
    forum = tg.group(-5007, "Forum", forum=True)
    await alice.send_in(forum, "design talk", thread_id=11)
    await alice.send_in(forum, "budget talk", thread_id=22)
    await tg.wait_quiet()
    fake.script(Reply(text="Design."))
    await fred.send_in(forum, "/catchup", thread_id=11)
    answer = await tg.wait_for_message(forum.id, lambda m: m.text == "Design.")
    assert answer.extra.get("message_thread_id") == 11
    prompt = prompt_of(running)
    assert "design talk" in prompt and "budget talk" not in prompt


async def test_a_trigger_word_addresses_the_bot(start_bot: StartBot, tg: TelegramEmulator) -> None:
    tg.privacy_mode = False
    async with start_bot(groups=GroupSettings(trigger="Jarvis, бот")) as running:
        fake = running.fake_llm
        fred = tg.user(FRIEND_ID, "Fred")
        alice = tg.user(STRANGER_ID, "Alice")
        team = tg.group(-5008, "Team")
        await fred.send_in(team, "jarvis, what is the capital of France?")
        await tg.wait_for_message(
            team.id, lambda m: m.text == "echo: what is the capital of France?"
        )
        await fred.send_in(team, "Бот сколько времени?")
        await tg.wait_for_message(team.id, lambda m: m.text == "echo: сколько времени?")
        assert len(fake.chat_requests) == 2
        start = len(team.messages)
        # Without a trigger word (or only inside a word, or not at the start): no answer.
        await fred.send_in(team, "just chatting with the team")
        await fred.send_in(team, "jarvisness is not a word")
        await fred.send_in(team, "ask jarvis later")
        # A stranger's trigger word costs nothing.
        await alice.send_in(team, "jarvis, answer me")
        await tg.wait_quiet()
        assert len(fake.chat_requests) == 2
        assert [m for m in team.messages[start:] if m.from_bot] == []


async def test_a_database_down_loses_history_never_the_answer(groups: Running) -> None:
    running = groups
    tg = running.tg
    history = running.app.group_history
    assert history is not None
    fred = tg.user(FRIEND_ID, "Fred")
    team = tg.group(-5009, "Team")
    running.storage.breaker.inject_outage()
    try:
        await fred.send_in(team, "are you there?", mention_bot=True)
        await tg.wait_for_message(team.id, lambda m: m.text == "echo: are you there?")
        assert await history.flush(5)
        assert history.dropped >= 1
    finally:
        running.storage.breaker.clear_outage()


async def test_help_in_a_group_offers_catchup_and_in_private_does_not(running: Running) -> None:
    tg = running.tg
    fred = tg.user(FRIEND_ID, "Fred")
    team = tg.group(-5010, "Team")
    await fred.send_in(team, "/help")
    shown = await tg.wait_for_message(team.id, lambda m: "/new" in m.text)
    assert "/catchup" in shown.text
    await fred.send("/help")
    private = await tg.wait_for_message(fred.id, lambda m: "/new" in m.text)
    assert "/catchup" not in private.text


async def test_catchup_is_refused_by_the_askers_budget_without_a_call(groups: Running) -> None:
    running = groups
    tg, fake = running.tg, running.fake_llm
    fred = tg.user(FRIEND_ID, "Fred")
    alice = tg.user(STRANGER_ID, "Alice")
    team = tg.group(-5011, "Team")
    await alice.send_in(team, "a long discussion " * 50)
    await running.storage.users.set_budget(FRIEND_ID, 1e-9)
    await fred.send_in(team, "/catchup")
    await tg.wait_for_message(team.id, lambda m: "used up today's budget" in m.text)
    assert fake.chat_requests == []


async def test_an_edited_message_is_caught_up_as_edited(groups: Running) -> None:
    running = groups
    tg, fake = running.tg, running.fake_llm
    fred = tg.user(FRIEND_ID, "Fred")
    alice = tg.user(STRANGER_ID, "Alice")
    team = tg.group(-5012, "Team")
    said = await alice.send_in(team, "meet at 5")
    await alice.edit(said, "meet at 6")
    await tg.wait_quiet()
    fake.script(Reply(text="At six."))
    await fred.send_in(team, "/catchup")
    await tg.wait_for_message(team.id, lambda m: m.text == "At six.")
    prompt = prompt_of(running)
    assert "Alice: meet at 6" in prompt and "meet at 5" not in prompt
