"""Group history and /catchup without Telegram: the write-behind recorder (never in the
way, bounded, an outage loses entries and nothing else), what counts as missed, the
"what did I miss?" phrasings, trigger words and the history text of a message."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from aiogram.types import Chat, Message, PhotoSize, Sticker, User

from app.bot.chat.threads import strip_mention, trigger_of
from app.bot.groups.recording import heard, history_text
from app.services.groups.catchup import asks_catchup, missed, transcript
from app.services.groups.history import GroupHistory, HeardMessage
from app.storage import CircuitBreaker
from app.storage.group_history import GroupMessage
from app.storage.guard import guard
from app.storage.memory.group_history import MemoryGroupHistoryRepository

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def said(message_id: int, sender: int, text: str = "x") -> GroupMessage:
    return GroupMessage(
        chat_id=-1,
        message_id=message_id,
        sender_id=sender,
        sender_name=f"u{sender}",
        text=text,
        at=T0,
        expires_at=T0 + timedelta(hours=1),
    )


def heard_one(message_id: int, chat_id: int = -1) -> HeardMessage:
    return HeardMessage(
        chat_id=chat_id,
        thread_id=0,
        message_id=message_id,
        sender_id=1,
        sender_name="Ann",
        text=f"m{message_id}",
    )


async def test_recording_returns_at_once_and_writes_behind() -> None:
    repo = MemoryGroupHistoryRepository()
    history = GroupHistory(repo, size=10, hours=1, clock=lambda: T0)
    for i in range(1, 4):
        history.note(heard_one(i))
    assert history.pending == 3  # queued, not written yet: the caller never waited
    assert await history.flush(2)
    got = await history.recent(-1, None)
    assert [m.text for m in got] == ["m1", "m2", "m3"]
    assert got[0].expires_at == T0 + timedelta(hours=1)
    await history.close()


async def test_a_long_message_is_kept_only_as_far_as_a_catchup_reads_it() -> None:
    repo = MemoryGroupHistoryRepository()
    history = GroupHistory(repo, size=10, hours=1, clock=lambda: T0)
    long = heard_one(1)
    history.note(HeardMessage(**{**long.__dict__, "text": "w" * 4096}))
    assert await history.flush(2)
    [kept] = await history.recent(-1, None)
    assert len(kept.text) == 1001
    assert transcript([kept]).endswith("w […]")  # still shown as cut
    await history.close()


async def test_an_outage_loses_the_entries_not_the_caller() -> None:
    breaker = CircuitBreaker(name="test")
    repo = guard(MemoryGroupHistoryRepository(), breaker)
    history = GroupHistory(repo, size=10, hours=1, clock=lambda: T0)
    breaker.inject_outage()
    history.note(heard_one(1))
    assert await history.flush(2)
    assert history.dropped == 1
    breaker.clear_outage()
    await breaker.aclose()


async def test_a_slow_store_keeps_only_the_newest_queued() -> None:
    class Slow(MemoryGroupHistoryRepository):
        gate = asyncio.Event()

        async def add(self, messages: Sequence[GroupMessage], *, keep: int) -> None:
            await self.gate.wait()
            await super().add(messages, keep=keep)

    repo = Slow()
    history = GroupHistory(repo, size=100, hours=1, clock=lambda: T0, max_queued=5, linger=0)
    history.note(heard_one(1))
    await asyncio.sleep(0)  # the writer takes m1 and waits on the store
    for i in range(2, 12):
        history.note(heard_one(i))
    assert history.pending == 6  # one being written, five queued: the oldest went
    assert history.dropped == 5
    Slow.gate.set()
    assert await history.flush(2)
    assert [m.message_id for m in await history.recent(-1, None)] == [1, 7, 8, 9, 10, 11]


async def test_size_zero_keeps_nothing() -> None:
    history = GroupHistory(MemoryGroupHistoryRepository(), size=0, hours=1)
    assert not history.enabled
    history.note(heard_one(1))
    assert history.pending == 0


def test_missed_is_what_came_after_the_askers_last_message() -> None:
    kept = [said(1, 2), said(2, 1), said(3, 2), said(4, 1), said(5, 3), said(6, 2, "/start")]
    assert [m.message_id for m in missed(kept, 1, before_message_id=7)] == [5]
    assert [m.message_id for m in missed(kept, 9, before_message_id=7)] == [1, 2, 3, 4, 5]
    assert missed(kept, 1, before_message_id=5) == []  # they wrote last before asking
    assert missed([], 1, before_message_id=7) == []


def test_transcript_keeps_the_newest_part() -> None:
    lines = [said(i, 1, f"message {i} " + "x" * 2000) for i in range(40)]
    text = transcript(lines, max_chars=5_000)
    assert text.startswith("[…]") and "message 39" in text and "message 0 " not in text
    assert " […]" in text  # each long message is cut


@pytest.mark.parametrize(
    "text",
    [
        "what did I miss?",
        "What have I missed here",
        "catch me up please",
        "что я пропустил?",
        "Что я пропустила",
        "что тут было, пока меня не было?",
    ],
)
def test_asks_catchup(text: str) -> None:
    assert asks_catchup(text)


@pytest.mark.parametrize(
    "text",
    [
        "what is the capital of France",
        "я пропустил автобус",
        "what did I miss in the news about the elections in Norway last week?",
    ],
)
def test_other_questions_do_not_ask_catchup(text: str) -> None:
    assert not asks_catchup(text)


def test_trigger_words_open_a_message_as_whole_words() -> None:
    words = ("Jarvis", "бот")
    assert trigger_of("jarvis, what time is it", words) == "jarvis, "
    assert trigger_of("Бот: привет", words) == "Бот: "
    assert trigger_of("JARVIS", words) == "JARVIS"
    assert trigger_of("jarvisness", words) is None
    assert trigger_of("ask jarvis", words) is None
    assert trigger_of("anything", ()) is None
    assert strip_mention("jarvis, what about jarvis?", "jarvis, ") == "what about jarvis?"
    assert strip_mention("hi @bot there", "@bot") == "hi  there"


@pytest.mark.parametrize(
    "text",
    ["jarvis.com is down again", "Jarvis's idea was better", "jarvis-like robots", "бот-то молчит"],
)
def test_a_trigger_word_inside_a_longer_token_does_not_address_the_bot(text: str) -> None:
    # The word is the start of a domain, a possessive, a compound: not an address.
    assert trigger_of(text, ("Jarvis", "бот")) is None


def test_a_trigger_word_may_be_followed_by_punctuation() -> None:
    words = ("Jarvis",)
    assert trigger_of("Jarvis,what time is it", words) == "Jarvis,"
    assert trigger_of("Jarvis... hm", words) == "Jarvis... "
    assert trigger_of("jarvis?", words) == "jarvis?"


def _message(chat_type: str, **fields: object) -> Message:
    return Message(
        message_id=7,
        date=datetime.now(UTC),
        chat=Chat(id=-100 if chat_type != "private" else 5, type=chat_type),
        from_user=User(id=5, is_bot=False, first_name="Ann", last_name="Lee"),
        **fields,
    )


def test_history_text_marks_media() -> None:
    photo = [PhotoSize(file_id="f", file_unique_id="u", width=1, height=1)]
    assert history_text(_message("group", photo=photo, caption="look")) == "[photo] look"
    assert history_text(_message("group", photo=photo)) == "[photo]"
    sticker = Sticker(
        file_id="s",
        file_unique_id="s",
        type="regular",
        width=1,
        height=1,
        is_animated=False,
        is_video=False,
        emoji="👍",
    )
    assert history_text(_message("group", sticker=sticker)) == "[sticker 👍]"
    assert history_text(_message("group", text="plain")) == "plain"


def test_only_group_messages_are_heard() -> None:
    found = heard(_message("supergroup", text="hello"))
    assert found is not None
    assert (found.sender_id, found.sender_name, found.text) == (5, "Ann Lee", "hello")
    assert heard(_message("private", text="hello")) is None
    assert heard(_message("channel", text="hello")) is None
    assert heard(_message("group")) is None  # says nothing (a service message)
