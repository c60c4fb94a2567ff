"""Inline mode and guest mode end to end: the real bot long-polls the Telegram emulator,
litellm streams from the fake OpenAI server. A friend's ``@bot question`` is answered into
the chosen inline message, a friend's guest mention into the message answerGuestQuery
posted, both as the friend (their model, budget and usage); strangers reach no model; and
one budget holds across a private, an inline and a guest answer asked at once."""

from __future__ import annotations

from datetime import UTC, datetime

from app.services.conversations.personas import PersonaService
from app.services.conversations.service import ConversationKey
from app.storage import Storage
from tests.e2e.conftest import FRIEND_ID, STRANGER_ID, Running, StartBot, eventually
from tests.e2e.test_budget_hard_limit import (
    BUDGET,
    leave_almost_nothing,
    priced_llm,
)
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.tg_emulator import InlineMessage

OTHER_PRICED_MODEL = "gpt-4o"  # a model of the friend's choosing, priced in litellm's map
WRITING_EN = "⏳ Writing the answer…"
STREAMED = "Rayleigh scattering sends the short blue waves all over the sky. " * 6


async def _chat_usage(storage: Storage, user_id: int) -> list[float]:
    """The costs of the user's usage records of kind chat."""
    await storage.usage_sink.flush()
    return [
        r.cost_usd or 0.0
        async for r in storage.usage.iter_records(user_id=user_id)
        if r.kind == "chat"
    ]


async def test_friend_inline_query_is_answered_into_the_chosen_message(
    start_bot: StartBot, fake_llm: FakeOpenAI
) -> None:
    fake_llm.script(Reply(text=STREAMED, chunk_size=12, chunk_delay=0.03))
    async with start_bot(llm=priced_llm(fake_llm)) as running:
        tg, storage = running.tg, running.storage
        friend = tg.user(FRIEND_ID, "Fred")
        group = tg.group(-800_001, "Friends of Fred")
        # The friend chose a model and a persona in their private chat: inline answers too.
        private = ConversationKey(FRIEND_ID, FRIEND_ID, 0)
        conversations = running.app.chat_service.conversations
        await conversations.set_model(private, OTHER_PRICED_MODEL)
        assert await conversations.set_persona(private, "b:editor", None)
        offered = await friend.inline_query("why is the sky blue?")
        assert offered is not None
        assert offered.params["is_personal"] is True  # cached for this user only
        [result] = offered.results
        assert result["title"] == f"Ask {OTHER_PRICED_MODEL}: why is the sky blue?"
        assert result["reply_markup"]["inline_keyboard"]  # so Telegram gives an id to edit
        assert fake_llm.chat_requests == []  # nothing reaches a model at query time

        posted = friend.choose(offered, where=group)
        assert posted.text.startswith("❓ why is the sky blue?") and WRITING_EN in posted.text
        await tg.wait_until(lambda: STREAMED.strip() in posted.text, timeout=15)
        await tg.wait_quiet()
        # The placeholder, then previews while the answer streamed, then the final edit.
        assert posted.edits[0].endswith(WRITING_EN)
        assert len(posted.edits) >= 3, posted.edits
        assert posted.text.startswith("❓ why is the sky blue?")
        assert posted.entity_texts("blockquote") == [("blockquote", "❓ why is the sky blue?")]
        # The friend's model and persona; the question alone (no private history here).
        [request] = fake_llm.chat_requests
        assert request.json["model"].endswith(OTHER_PRICED_MODEL)
        editor = PersonaService(storage).builtin("editor").prompt
        system = request.messages[0]
        assert system["role"] == "system" and system["content"].startswith(editor)
        assert [m["content"] for m in request.messages if m["role"] == "user"] == [
            "why is the sky blue?"
        ]
        # One usage record of kind chat with its real cost, charged to the friend.
        await eventually(
            lambda: _has_usage(storage, FRIEND_ID), "the inline answer's usage is recorded"
        )
        [cost] = await _chat_usage(storage, FRIEND_ID)
        assert cost > 0
        spent = await storage.spend.spent(FRIEND_ID, datetime.now(UTC).date())
        assert abs(spent - cost) < 1e-9
        # Nothing of it went into the friend's private conversation.
        conversation = await conversations.active(private, None)
        assert conversation.turns == []


async def _has_usage(storage: Storage, user_id: int) -> bool:
    return bool(await _chat_usage(storage, user_id))


async def test_a_long_inline_answer_is_cut_with_a_marker(
    start_bot: StartBot, fake_llm: FakeOpenAI
) -> None:
    long = "\n\n".join(f"Paragraph {i}: " + "lorem ipsum dolor sit amet " * 12 for i in range(30))
    fake_llm.script(Reply(text=long, chunk_size=800))
    async with start_bot() as running:
        tg = running.tg
        friend = tg.user(FRIEND_ID, "Fred")
        offered = await friend.inline_query("write a lot")
        assert offered is not None
        posted = friend.choose(offered)
        await tg.wait_until(lambda: "✂️" in posted.text, timeout=15)
        assert len(posted.text) <= 4096
        assert posted.text.startswith("❓ write a lot")
        assert "Paragraph 0:" in posted.text and "Paragraph 29" not in posted.text
        assert posted.text.rstrip().endswith("for the whole answer.")


async def test_empty_inline_query_gets_a_hint_and_no_result(running: Running) -> None:
    friend = running.tg.user(FRIEND_ID, "Fred")
    offered = await friend.inline_query("   ")
    assert offered is not None and offered.results == []
    assert offered.params["button"]["start_parameter"] == "inline"
    assert running.fake_llm.chat_requests == []


async def test_strangers_inline_query_and_guest_message_reach_no_model(
    start_bot: StartBot, fake_llm: FakeOpenAI
) -> None:
    async with start_bot() as running:
        tg = running.tg
        stranger = tg.user(STRANGER_ID, "Stan", language_code="ru")
        offered = await stranger.inline_query("tell me a secret")
        assert offered is not None and offered.results == []
        button = offered.params["button"]
        assert button["start_parameter"] == "access"
        assert button["text"] == "🔑 Запросить доступ"  # in the stranger's language
        assert offered.params["is_personal"] is True

        group = tg.group(-800_002, "Stan's friends")
        query = stranger.send_guest(group, "tell me a secret")
        await tg.wait_until(lambda: query.answer is not None)
        assert query.answer is not None
        assert query.answer.text.startswith("Это закрытый бот")
        [link] = query.answer.buttons
        assert link["url"] == f"https://t.me/{tg.bot_username}?start=access"
        # One refusal per cooldown: a stranger who keeps summoning the bot is ignored.
        again = stranger.send_guest(group, "and now?")
        await tg.wait_quiet()
        assert again.answer is None
        # The button leads to the private chat, where /start gets the Request access button
        # (the guest refusal's cooldown is its own).
        await stranger.send("/start access")
        refusal = await tg.wait_for_message(stranger.id)
        assert "🔑 Запросить доступ" in refusal.button_texts
        # Choosing a result the stranger could never get (a forged update) does nothing.
        tg.enqueue_update(
            {
                "chosen_inline_result": {
                    "result_id": "ask",
                    "from": stranger.as_dict,
                    "query": "forged",
                    "inline_message_id": "AgAAAforged",
                }
            }
        )
        await tg.wait_quiet()
        assert fake_llm.chat_requests == []
        assert (await running.storage.usage.totals()).requests == 0


async def test_friend_guest_message_is_answered_with_the_replied_message_as_context(
    start_bot: StartBot, fake_llm: FakeOpenAI
) -> None:
    fake_llm.script(Reply(text=STREAMED, chunk_size=12, chunk_delay=0.03))
    async with start_bot(llm=priced_llm(fake_llm)) as running:
        tg, storage = running.tg, running.storage
        friend = tg.user(FRIEND_ID, "Fred")
        ann = tg.user(301, "Ann")
        group = tg.group(-800_003, "A group the bot is not in")
        original = await ann.send_in(group, "The bridge on Elm street is closed until Friday.")
        query = friend.send_guest(group, "is that true?", reply_to=original)
        await tg.wait_until(
            lambda: query.answer is not None and STREAMED.strip() in query.answer.text,
            timeout=15,
        )
        await tg.wait_quiet()
        answer: InlineMessage | None = query.answer
        assert answer is not None and answer.chat_id == group.id
        assert answer.edits[0] == WRITING_EN  # posted by answerGuestQuery, then edited
        assert len(answer.edits) >= 3, answer.edits
        assert answer.text == STREAMED.strip()
        [request] = fake_llm.chat_requests
        asked = request.messages[-1]["content"]
        assert "The bridge on Elm street is closed until Friday." in asked
        assert "Ann" in asked and asked.endswith("is that true?")
        assert f"@{tg.bot_username}" not in asked
        await eventually(lambda: _has_usage(storage, FRIEND_ID), "the guest answer's usage")
        [cost] = await _chat_usage(storage, FRIEND_ID)
        assert cost > 0


async def test_guest_media_degrades_to_text(start_bot: StartBot, fake_llm: FakeOpenAI) -> None:
    async with start_bot() as running:
        tg = running.tg
        friend = tg.user(FRIEND_ID, "Fred")
        group = tg.group(-800_004, "Pictures")
        photo = friend.send_guest(group, "what is on it?", photo=True)
        await tg.wait_until(
            lambda: photo.answer is not None and "skipped" in photo.answer.text, timeout=15
        )
        assert photo.answer is not None
        assert photo.answer.text == (
            "echo: what is on it?\n\n🖼 The image was skipped: answers here are text only."
        )
        [request] = fake_llm.chat_requests
        assert request.messages[-1]["content"] == "what is on it?"  # the text, no image
        voice = friend.send_guest(group, "", voice=True)
        await tg.wait_until(lambda: voice.answer is not None)
        assert voice.answer is not None
        assert "🎤 The voice message was skipped" in voice.answer.text
        assert "Write your question after the mention" in voice.answer.text
        await tg.wait_quiet()
        assert len(fake_llm.chat_requests) == 1  # nothing to ask: no model call


async def test_one_budget_holds_across_private_inline_and_guest_answers(
    start_bot: StartBot, fake_llm: FakeOpenAI
) -> None:
    # Slow answers: all three reserve while the first call is still running.
    fake_llm.script(*[Reply.slow(1.0, "paid answer")] * 3)
    async with start_bot(llm=priced_llm(fake_llm)) as running:
        tg, storage = running.tg, running.storage
        # The budget has room for one call's reservation, not for two.
        await leave_almost_nothing(storage)
        friend = tg.user(FRIEND_ID, "Fred", language_code="ru")
        group = tg.group(-800_005, "Everywhere at once")
        offered = await friend.inline_query("inline question")
        assert offered is not None
        # All three at once: they arrive in one batch of updates.
        await friend.send("private question")
        posted = friend.choose(offered, where=group)
        guest = friend.send_guest(group, "guest question")

        def done() -> bool:
            return (
                bool(friend.chat.bot_messages)
                and "⏳" not in posted.text
                and guest.answer is not None
                and "⏳" not in guest.answer.text
            )

        await tg.wait_until(done, timeout=20)
        await tg.wait_quiet()
        assert guest.answer is not None
        texts = [m.text for m in friend.chat.bot_messages] + [posted.text, guest.answer.text]
        assert len(fake_llm.chat_requests) == 1, texts
        assert sum("paid answer" in t for t in texts) == 1, texts
        # The two refused are told why, in the friend's language.
        refused = [t for t in texts if "Вы израсходовали бюджет на сегодня" in t]
        assert len(refused) == 2, texts
        spent = await storage.spend.spent(FRIEND_ID, datetime.now(UTC).date())
        assert spent <= BUDGET


async def test_access_lost_before_the_choice_says_so_in_the_placeholder(
    start_bot: StartBot, fake_llm: FakeOpenAI
) -> None:
    approved = 556
    async with start_bot() as running:
        tg, storage = running.tg, running.storage
        await storage.users.set_approved(approved, True)
        ann = tg.user(approved, "Ann", language_code="ru")
        offered = await ann.inline_query("a question")
        assert offered is not None and offered.results
        # Revoked while Telegram still shows the cached result: she chooses it anyway.
        await storage.users.set_approved(approved, False)
        posted = ann.choose(offered, where=tg.group(-800_006, "Ann's group"))
        await tg.wait_until(lambda: "⏳" not in posted.text, timeout=10)
        assert posted.text == "🔒 У вас нет доступа к этому боту: ответа не будет."
        await tg.wait_quiet()
        assert fake_llm.chat_requests == []
        assert (await storage.usage.totals()).requests == 0


async def test_database_down_at_the_choice_says_so_in_the_placeholder(
    start_bot: StartBot, fake_llm: FakeOpenAI
) -> None:
    approved = 557  # approved in the database: unknown while it is down
    async with start_bot() as running:
        tg, storage = running.tg, running.storage
        await storage.users.set_approved(approved, True)
        ann = tg.user(approved, "Ann")
        offered = await ann.inline_query("a question")
        assert offered is not None and offered.results
        storage.breaker.inject_outage()
        try:
            posted = ann.choose(offered)
            await tg.wait_until(lambda: "⏳" not in posted.text, timeout=10)
            assert "database is unavailable" in posted.text
        finally:
            storage.breaker.clear_outage()
        assert fake_llm.chat_requests == []
