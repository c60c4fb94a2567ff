"""Input as people type it (issue 27), end to end on the emulator: a paste Telegram split,
an album, a forward with a comment each make one turn; a short message is not held back;
an edited question is asked again and replaces the old exchange."""

from __future__ import annotations

import asyncio

from app.config import BotSettings
from app.storage import open_memory_storage
from tests.e2e.conftest import FRIEND_ID, STRANGER_ID, StartBot
from tests.fakes.openai_server import Reply
from tests.tg_emulator import EmuMessage

WINDOW_MS = 300


def bot_settings(**overrides: object) -> BotSettings:
    values: dict[str, object] = {
        "draft_interval": 0.02,
        "edit_interval": 0.05,
        "merge_window_ms": WINDOW_MS,
    }
    values.update(overrides)
    return BotSettings.model_validate(values)


def _answer(m: EmuMessage) -> bool:
    return m.from_bot and m.text.startswith("echo:")


def _user_text(content: object) -> str:
    if isinstance(content, str):
        return content
    assert isinstance(content, list)
    return " ".join(p.get("text", "") for p in content if p.get("type") == "text")


async def test_a_split_paste_makes_one_call_and_one_answer(start_bot: StartBot) -> None:
    async with start_bot(bot=bot_settings()) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        parts = ["a" * 4096, "b" * 4096, "c" * 500]
        for part in parts:
            await friend.send(part)
        await tg.wait_for_message(friend.id, _answer)
        await tg.wait_quiet(quiet=WINDOW_MS / 1000 + 0.3)
        assert len(fake.chat_requests) == 1
        asked = _user_text(fake.chat_requests[0].messages[-1]["content"])
        assert asked == "\n".join(parts)
        # One answer (the echo of 8 692 characters comes in parts of one answer).
        answers = [m for m in friend.messages if m.from_bot and m.text.startswith("echo:")]
        assert len(answers) == 1
        # The history keeps one question, shown by all three messages.
        conv = await running.app.storage.conversations.active(FRIEND_ID, FRIEND_ID)
        users = [t for t in conv.turns if t.role == "user"]
        assert len(users) == 1 and len(users[0].message_ids) == 3


async def test_an_album_with_a_caption_makes_one_call_with_both_images(
    start_bot: StartBot,
) -> None:
    async with start_bot(bot=bot_settings()) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send_photo(caption="compare these", media_group_id="album-1")
        await friend.send_photo(media_group_id="album-1")
        await tg.wait_for_message(friend.id, _answer)
        await tg.wait_quiet(quiet=WINDOW_MS / 1000 + 0.3)
        assert len(fake.chat_requests) == 1
        content = fake.chat_requests[0].messages[-1]["content"]
        assert isinstance(content, list)
        assert len([p for p in content if p.get("type") == "image_url"]) == 2
        assert _user_text(content) == "compare these"


async def test_an_album_without_a_caption_asks_about_the_images(start_bot: StartBot) -> None:
    async with start_bot(bot=bot_settings()) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        for _ in range(3):
            await friend.send_photo(media_group_id="album-2")
        await tg.wait_for_message(friend.id, _answer)
        await tg.wait_quiet(quiet=WINDOW_MS / 1000 + 0.3)
        assert len(fake.chat_requests) == 1
        content = fake.chat_requests[0].messages[-1]["content"]
        assert len([p for p in content if p.get("type") == "image_url"]) == 3
        assert _user_text(content) == "What is in these images?"


async def test_an_album_of_documents_is_read_as_one_question(start_bot: StartBot) -> None:
    async with start_bot(bot=bot_settings()) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send_document(
            b"apples: 3", "a.txt", caption="which has more?", media_group_id="docs"
        )
        await friend.send_document(b"pears: 5", "b.txt", media_group_id="docs")
        await tg.wait_for_message(friend.id, _answer)
        await tg.wait_quiet(quiet=WINDOW_MS / 1000 + 0.3)
        assert len(fake.chat_requests) == 1
        asked = _user_text(fake.chat_requests[0].messages[-1]["content"])
        assert 'name="a.txt"' in asked and "apples: 3" in asked
        assert 'name="b.txt"' in asked and "pears: 5" in asked
        assert asked.endswith("which has more?")


async def test_a_forward_and_the_comment_after_it_make_one_turn(start_bot: StartBot) -> None:
    async with start_bot(bot=bot_settings()) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("The meeting moves to Friday.", forwarded_from="Alice")
        await asyncio.sleep(0.1)  # the comment is typed after the forward
        await friend.send("what do you think?")
        await tg.wait_for_message(friend.id, _answer)
        await tg.wait_quiet(quiet=WINDOW_MS / 1000 + 0.3)
        assert len(fake.chat_requests) == 1
        asked = _user_text(fake.chat_requests[0].messages[-1]["content"])
        assert asked == (
            "[A forwarded message from Alice:]\n> The meeting moves to Friday.\n\n"
            "what do you think?"
        )


async def test_a_short_message_alone_is_not_held_for_the_window(start_bot: StartBot) -> None:
    # A window far longer than any answer takes: held back, the answer could not come
    # before it ends.
    async with start_bot(bot=bot_settings(merge_window_ms=10_000)) as running:
        tg = running.tg
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("hello")
        answer = await tg.wait_for_message(friend.id, _answer, timeout=5)
        assert answer.text == "echo: hello"
        await friend.send("and again")
        await tg.wait_for_message(friend.id, lambda m: m.text == "echo: and again", timeout=5)


async def test_pieces_beyond_the_caps_are_left_out_and_the_user_is_told(
    start_bot: StartBot,
) -> None:
    settings = bot_settings(merge_max_pieces=3, max_input_chars=9000)
    async with start_bot(bot=settings) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        for letter in "abcde":
            await friend.send(letter * 4000)
        await tg.wait_for_message(friend.id, _answer)
        await tg.wait_quiet(quiet=WINDOW_MS / 1000 + 0.3)
        assert len(fake.chat_requests) == 1
        asked = _user_text(fake.chat_requests[0].messages[-1]["content"])
        assert len(asked) == 9000 and asked.startswith("a" * 4000) and "d" not in asked
        notes = [m.text for m in friend.messages if m.from_bot and m.text.startswith("✂️")]
        assert notes == [
            "✂️ Messages sent at once: 5; I read the first 3.\n"
            "✂️ Together your messages are 12002 characters long; I read the first 9000 "
            "(the limit)."
        ]


async def test_a_paste_in_a_forum_topic_is_answered_there_as_one_turn(
    start_bot: StartBot,
) -> None:
    async with start_bot(bot=bot_settings()) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        # With privacy mode on, the bot would not see the part without the mention.
        tg.privacy_mode = False
        group = tg.group(-1001, "Team", forum=True)
        first = await friend.send_in(group, "x" * 4000, mention_bot=True, thread_id=7)
        await friend.send_in(group, "y" * 300, thread_id=7)
        answer = await tg.wait_for_message(group.id, _answer)
        await tg.wait_quiet(quiet=WINDOW_MS / 1000 + 0.3)
        assert len(fake.chat_requests) == 1
        asked = _user_text(fake.chat_requests[0].messages[-1]["content"])
        assert asked == "x" * 4000 + "\n" + "y" * 300
        assert answer.extra.get("message_thread_id") == 7
        assert answer.reply_to_message_id == first.message_id


async def test_an_edited_question_is_asked_again_and_replaces_the_old_exchange(
    start_bot: StartBot,
) -> None:
    async with start_bot(bot=bot_settings()) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("first question")
        await tg.wait_for_message(friend.id, lambda m: m.text == "echo: first question")
        question = await friend.send("waht is 2+2")
        old = await tg.wait_for_message(friend.id, lambda m: m.text == "echo: waht is 2+2")
        await friend.edit(question, "what is 2+2")
        new = await tg.wait_for_message(friend.id, lambda m: m.text == "echo: what is 2+2")
        await tg.wait_quiet()
        assert len(fake.chat_requests) == 3  # one new call for the edit
        sent = [m["content"] for m in fake.chat_requests[-1].messages if m["role"] != "system"]
        # The model sees the history before the question, and the new question only.
        assert sent == ["first question", "echo: first question", "what is 2+2"]
        # The old answer left the chat; the new one stays.
        shown = [m.message_id for m in friend.messages]
        assert old.message_id not in shown and new.message_id in shown
        conv = await running.app.storage.conversations.active(FRIEND_ID, FRIEND_ID)
        assert [t.content for t in conv.turns] == [
            "first question",
            "echo: first question",
            "what is 2+2",
            "echo: what is 2+2",
        ]
        # The edit was charged as one call: three usage records in all.
        await running.app.storage.usage_sink.flush()
        records = [r async for r in running.app.storage.usage.iter_records(user_id=FRIEND_ID)]
        assert len([r for r in records if r.kind == "chat"]) == 3


async def test_editing_an_older_message_or_during_an_answer_is_explained(
    start_bot: StartBot,
) -> None:
    async with start_bot(bot=bot_settings()) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        older = await friend.send("one")
        await tg.wait_for_message(friend.id, lambda m: m.text == "echo: one")
        await friend.send("two")
        await tg.wait_for_message(friend.id, lambda m: m.text == "echo: two")
        await friend.edit(older, "uno")
        note = await tg.wait_for_message(friend.id, lambda m: m.text.startswith("✏️"))
        assert "latest question" in note.text
        calls = len(fake.chat_requests)

        fake.script(Reply.slow(1.5, "slow answer"))
        slow = await friend.send("three")
        await tg.wait_until(lambda: len(fake.chat_requests) == calls + 1)
        await friend.edit(slow, "tres")
        busy = await tg.wait_for_message(
            friend.id, lambda m: m.text.startswith("✏️") and "still writing" in m.text
        )
        assert busy is not None
        await tg.wait_for_message(friend.id, lambda m: "slow answer" in m.text)
        await tg.wait_quiet()
        assert len(fake.chat_requests) == calls + 1  # neither edit called the model


async def test_a_strangers_edit_reaches_nobody(start_bot: StartBot) -> None:
    async with start_bot(bot=bot_settings()) as running:
        tg, fake = running.tg, running.fake_llm
        stranger = tg.user(STRANGER_ID, "Sam")
        message = await stranger.send("hello")
        await tg.wait_quiet()
        before = len(stranger.messages)
        await stranger.edit(message, "hello again")
        await tg.wait_quiet()
        assert fake.chat_requests == []
        assert len(stranger.messages) == before  # no reply to the edit


async def test_merging_off_answers_each_piece(start_bot: StartBot) -> None:
    async with start_bot(bot=bot_settings(merge_window_ms=0)) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("a" * 4096)
        await friend.send("b" * 10)
        await tg.wait_for_message(friend.id, lambda m: m.text == "echo: " + "b" * 10)
        await tg.wait_quiet()
        assert len(fake.chat_requests) == 2


async def test_a_database_outage_answers_each_piece_rather_than_lose_it(
    start_bot: StartBot,
) -> None:
    storage = open_memory_storage()
    async with start_bot(storage=storage, bot=bot_settings()) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("warm up")
        await tg.wait_for_message(friend.id, _answer)
        storage.breaker.inject_outage()
        try:
            await friend.send("q" * 4000)
            await tg.wait_for_message(friend.id, lambda m: m.text.startswith("echo: qqq"))
        finally:
            storage.breaker.clear_outage()
        assert len(fake.chat_requests) == 2


async def test_a_merged_turn_keeps_the_reply_and_quote_of_its_pieces(start_bot: StartBot) -> None:
    async with start_bot(bot=bot_settings()) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("tell me about owls")
        answer = await tg.wait_for_message(
            friend.id, lambda m: m.text == "echo: tell me about owls"
        )
        await friend.send("o" * 4000, reply_to=answer, quote="about owls")
        await friend.send("so what about that?")
        await tg.wait_for_message(friend.id, lambda m: m.text.startswith("echo: [Replying"))
        await tg.wait_quiet(quiet=WINDOW_MS / 1000 + 0.3)
        assert len([r for r in fake.chat_requests if r.stream]) == 2
        asked = _user_text(fake.chat_requests[-1].messages[-1]["content"])
        assert asked == (
            "[Replying to your earlier answer:]\n> about owls\n\n"
            + "o" * 4000
            + "\nso what about that?"
        )
