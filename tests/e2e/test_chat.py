"""Chatting end to end: streamed answers, context, splitting, escaping, errors, flood limits,
photos (and failed downloads), and an exchange kept when Telegram refuses the answer."""

from __future__ import annotations

from tests.e2e.conftest import FRIEND_ID, Running, StartBot
from tests.fakes.openai_server import Reply
from tests.media.files import make_ogg_opus


def _is_answer(prefix: str = "echo:"):  # type: ignore[no-untyped-def]
    return lambda m: m.text.startswith(prefix)


async def test_streamed_answer_uses_drafts_then_one_message(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    fake.script(
        Reply(text="Hello there, this is a streamed answer. " * 5, chunk_size=8, chunk_delay=0.01)
    )
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("hi")
    reply = await tg.wait_for_message(friend.id, lambda m: m.text.startswith("Hello there"))
    assert reply.text == ("Hello there, this is a streamed answer. " * 5).strip()
    await tg.wait_quiet()
    assert len(tg.drafts(friend.id)) >= 2  # the answer was shown while it streamed
    assert len(friend.chat.bot_messages) == 1  # and finished with exactly one message
    request = fake.chat_requests[-1]
    assert request.stream and request.json.get("stream_options", {}).get("include_usage")


async def test_context_is_kept_and_new_resets_it(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("my name is Fred")
    await tg.wait_for_message(friend.id, _is_answer())
    await friend.send("what is my name?")
    await tg.wait_for_message(friend.id, _is_answer())
    contents = [m["content"] for m in fake.chat_requests[-1].messages]
    assert "my name is Fred" in contents and "echo: my name is Fred" in contents

    await friend.send("/new")
    await tg.wait_for_message(friend.id, lambda m: "New conversation" in m.text)
    await friend.send("fresh start")
    await tg.wait_for_message(friend.id, _is_answer())
    contents = [m["content"] for m in fake.chat_requests[-1].messages]
    assert "my name is Fred" not in contents
    assert contents[-1] == "fresh start"


async def test_long_answer_is_split_with_nothing_lost(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    paragraphs = [f"Paragraph {i}: " + ("lorem ipsum dolor sit amet " * 12) for i in range(40)]
    text = "\n\n".join(paragraphs)
    assert len(text) > 3 * 4096
    fake.script(Reply(text=text, chunk_size=500))
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("write a lot")
    await tg.wait_until(
        lambda: any("Paragraph 39" in m.text for m in friend.chat.bot_messages), timeout=15
    )
    await tg.wait_quiet()
    parts = [m.text for m in friend.chat.bot_messages]
    assert len(parts) >= 4
    assert all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in parts)
    joined = "".join(parts).replace("\n", "").replace(" ", "")
    assert joined == text.replace("\n", "").replace(" ", "")


async def test_html_unsafe_text_shows_literally(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    fake.script(Reply(text="Use `a < b` and never <script>alert(1)</script> & co."))
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("is a < b? <b>bold</b>")
    reply = await tg.wait_for_message(friend.id, lambda m: "never" in m.text)
    assert reply.text == "Use a < b and never <script>alert(1)</script> & co."
    assert any(e["type"] == "code" for e in reply.entities)
    assert fake.chat_requests[-1].messages[-1]["content"] == "is a < b? <b>bold</b>"


async def test_markdown_becomes_telegram_formatting(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    fake.script(Reply(text="**Bold** and _italic_\n\n```python\nprint('hi')\n```"))
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("format please")
    reply = await tg.wait_for_message(friend.id, lambda m: "print" in m.text)
    types = {e["type"] for e in reply.entities}
    assert {"bold", "italic", "pre"} <= types
    assert "**" not in reply.text and "```" not in reply.text


async def test_model_errors_get_clear_messages_and_bot_keeps_serving(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    cases = [
        (Reply.unauthorized(), "API key", 1),
        (Reply.context_too_long(), "/new", 1),
        # max_retries=1: a retryable error is served twice before the user is told.
        (Reply.rate_limited(retry_after=0), "overloaded", 2),
        (Reply.server_error(503), "unavailable", 2),
    ]
    for reply, expected, times in cases:
        fake.script(*[reply] * times)
        sent = await friend.send("question")
        answer = await tg.wait_for_message(friend.id, after=sent.message_id)
        await tg.wait_quiet()
        assert expected in answer.text, (expected, answer.text)
    await friend.send("still there?")
    ok = await tg.wait_for_message(friend.id, _is_answer())
    assert ok.text == "echo: still there?"


async def test_timeout_is_reported(start_bot: StartBot) -> None:
    from llmdoor import LLMSettings

    async with start_bot() as running:
        fake = running.fake_llm
        settings: LLMSettings = running.app.llm.settings
        settings.timeout = 0.5
        settings.max_retries = 0
        fake.script(Reply.slow(3.0, "too late"))
        friend = running.tg.user(FRIEND_ID, "Fred")
        await friend.send("slow one")
        answer = await running.tg.wait_for_message(friend.id, lambda m: "too long" in m.text)
        assert "/model" in answer.text


async def test_flood_limit_429_is_waited_out(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    tg.refuse_drafts()  # force the send + edit path
    fake.script(Reply(text="word " * 200, chunk_size=10, chunk_delay=0.02))
    tg.fail_next("editMessageText", 429, retry_after=1, times=3)
    tg.fail_next("sendMessage", 429, retry_after=1, times=1)
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("flood me")
    await tg.wait_until(
        lambda: any(m.text.strip() == ("word " * 200).strip() for m in friend.chat.bot_messages),
        timeout=20,
    )
    served_429 = [c for c in tg.calls() if c.status == 429]
    assert {c.method for c in served_429} == {"sendMessage", "editMessageText"}
    assert len(served_429) == 4


async def test_broken_stream_keeps_partial_text_with_a_note(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    fake.script(Reply.broken_stream(after=3, text="The beginning of a long answer that breaks"))
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("tell me")
    reply = await tg.wait_for_message(friend.id, lambda m: "cut off" in m.text)
    assert reply.text.startswith("The beginnin")  # 3 chunks of 4 characters
    await running.storage.usage_sink.flush()
    records = [r async for r in running.storage.usage.iter_records()]
    assert records[-1].outcome == "partial"


async def test_unsupported_content_and_photos(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send_sticker()
    reply = await tg.wait_for_message(friend.id)
    assert "I read text" in reply.text
    assert "Stickers and videos aren't supported" in reply.text
    # Voice notes are transcribed now (tests/e2e/test_media.py), not refused.
    await friend.send_voice(make_ogg_opus(1.0))  # real audio: its length is measured
    reply = await tg.wait_for_message(friend.id)
    assert reply.text.startswith("🎙")
    await tg.wait_for_message(friend.id, lambda m: m.text == "echo: Hello from the voice note.")

    await friend.send_photo(caption="what is this?")
    await tg.wait_for_message(friend.id, _is_answer())
    content = fake.chat_requests[-1].messages[-1]["content"]
    assert isinstance(content, list)
    assert any(part.get("type") == "image_url" for part in content)
    assert fake.chat_requests[-1].messages[-1]["content"][0]["text"] == "what is this?" or any(
        part.get("text") == "what is this?" for part in content
    )


async def test_groups_answer_only_when_addressed(running: Running) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    group = tg.group(-600, "Team")
    await friend.send_in(group, "just chatting")
    await tg.wait_quiet()
    assert group.chat.bot_messages == []
    await friend.send_in(group, "what's up?", mention_bot=True)
    reply = await tg.wait_for_message(group.chat.id, lambda m: m.text == "echo: what's up?")
    await friend.send_in(group, "and now?", reply_to=reply)
    second = await tg.wait_for_message(group.chat.id, lambda m: m.text == "echo: and now?")
    assert second.reply_to_message_id is not None


async def test_help_lists_commands_and_current_model(running: Running) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("/help")
    reply = await tg.wait_for_message(friend.id)
    assert "/new" in reply.text and "/model" in reply.text
    assert "openai/fake-model" in reply.text
    assert "/stats" not in reply.text


async def test_usage_is_recorded_for_every_call(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("one")
    await tg.wait_for_message(friend.id, _is_answer())
    fake.script(Reply.unauthorized())
    await friend.send("two")
    await tg.wait_for_message(friend.id, lambda m: "API key" in m.text)
    await running.storage.usage_sink.flush()
    totals = await running.storage.usage.totals()
    assert totals.requests == 2 and totals.errors == 1
    assert totals.prompt_tokens > 0


async def test_language_follows_telegram_and_can_be_overridden(running: Running) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred", language_code="ru")
    await friend.send("/new")
    reply = await tg.wait_for_message(friend.id)
    assert reply.text.startswith("🆕 Начат новый разговор")

    await friend.send("/language")
    menu = await tg.wait_for_message(friend.id)
    assert menu.button_texts == ["English", "Русский"]
    await friend.press(menu, "English")
    await tg.wait_until(lambda: menu.text == "Language set: English")
    await friend.send("/new")
    reply = await tg.wait_for_message(friend.id)
    assert reply.text.startswith("🆕 New conversation started")
    record = await running.storage.users.get(FRIEND_ID)
    assert record is not None and record.language == "en"

    forged = await friend.send_callback("lang:xx", menu)
    assert forged is not None and "expired" in (forged.text or "")


async def test_flood_limits_are_waited_out_outside_answers_too(running: Running) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    stranger = tg.user(301, "Eve")
    tg.fail_next("sendMessage", 429, retry_after=1, times=2)
    await friend.send("/help")
    await stranger.send("hello?")
    help_reply = await tg.wait_for_message(friend.id, lambda m: "/new" in m.text)
    refusal = await tg.wait_for_message(stranger.id)
    assert help_reply.text and "private bot" in refusal.text
    assert len([c for c in tg.calls("sendMessage") if c.status == 429]) == 2


async def test_the_exchange_is_kept_when_telegram_refuses_the_answer(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    tg.refuse_drafts()
    tg.fail_next("sendMessage", 400, description="Bad Request: chat not found", times=1)
    await friend.send("remember this")
    await tg.wait_until(lambda: fake.chat_requests)
    await tg.wait_quiet()
    conversation = await running.storage.conversations.active(FRIEND_ID, FRIEND_ID)
    assert [t.content for t in conversation.turns] == ["remember this", "echo: remember this"]


async def test_a_failed_photo_download_is_reported(running: Running) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    tg.fail_next("getFile", 400, description="Bad Request: file is too big")
    await friend.send_photo(caption="look")
    reply = await tg.wait_for_message(friend.id)
    assert "couldn't download this image" in reply.text
    assert running.fake_llm.chat_requests == []
