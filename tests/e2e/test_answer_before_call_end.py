"""The final message goes out as soon as the model has finished writing, not after the end
of the call: the vendor's usage chunk, litellm's end-of-stream work and the usage record
follow in the background (under load they took 100-200 ms per answer). The call is still
recorded with the vendor's figures, the history still gets the answer, and a user with
the /usage footer on still sees the real figures (their answer waits for them)."""

from __future__ import annotations

from app.services.conversations.settings import ConversationSettings
from tests.e2e.conftest import FRIEND_ID, Running, StartBot
from tests.e2e.test_answer_controls import BUTTONS, REGENERATE, conversation, usage_records
from tests.e2e.test_answer_display import priced  # noqa: F401 - the fixture
from tests.fakes.openai_server import Reply

TAIL = 1.5  # seconds the fake waits between the finish reason and its usage chunk


async def test_the_final_does_not_wait_for_the_end_of_the_call(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    fake.script(Reply(text="Written in full.", tail_delay=TAIL, completion_tokens=7))
    await tg.user(FRIEND_ID).send("quick one")
    final = await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "Written in full.")
    # The fake is still holding back its usage chunk: the call has not ended yet.
    [request] = [r for r in fake.requests if r.stream]
    assert request.done_at is None
    assert [r async for r in running.storage.usage.iter_records(user_id=FRIEND_ID)] == []
    # It ends in the background: recorded once, with the vendor's figures.
    [record] = await usage_records(running, FRIEND_ID, lambda rs: len(rs) == 1)
    assert request.done_at is not None
    assert record.outcome == "ok" and record.completion_tokens == 7
    assert not record.cost_estimated
    conv = await conversation(running, FRIEND_ID, FRIEND_ID)
    assert [(t.role, t.content) for t in conv.turns] == [
        ("user", "quick one"),
        ("assistant", "Written in full."),
    ]
    assert conv.turns[-1].message_ids == [final.message_id]
    assert len(tg.chat(FRIEND_ID).bot_messages) == 1  # one final, nothing after it


async def test_a_button_pressed_before_the_call_ended_works_after_it(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    fake.script(Reply(text="First take.", tail_delay=TAIL), Reply(text="Second take."))
    await tg.user(FRIEND_ID).send("a question")
    first = await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "First take.")
    assert first.button_texts == BUTTONS
    # Pressed while the first call is still ending: not "an answer is being written".
    await tg.user(FRIEND_ID).press(first, REGENERATE)
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "Second take.")
    first_call, second_call = [r for r in fake.requests if r.stream]
    # The second call went out once the first had ended (its budget settled first).
    assert first_call.done_at is not None and second_call.received_at >= first_call.done_at
    records = await usage_records(running, FRIEND_ID, lambda rs: len(rs) == 2)
    assert all(r.outcome == "ok" for r in records)
    conv = await conversation(running, FRIEND_ID, FRIEND_ID)
    assert [t.content for t in conv.turns] == ["a question", "Second take."]


async def test_the_usage_footer_waits_for_the_figures(priced: Running) -> None:  # noqa: F811
    tg, fake = priced.tg, priced.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("/usage on")
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text.startswith("📊 Each answer"))
    fake.script(Reply(text="Counted late.", tail_delay=0.5, prompt_tokens=11, completion_tokens=3))
    await friend.send("count me")
    final = await tg.wait_for_message(FRIEND_ID, lambda m: m.text.startswith("Counted late."))
    assert "11 in / 3 out" in final.text.split("\n")[-1]
    [record] = await usage_records(priced, FRIEND_ID, lambda rs: len(rs) == 1)
    assert record.prompt_tokens == 11 and record.completion_tokens == 3


async def test_the_title_call_waits_for_the_answers_call_to_end(start_bot: StartBot) -> None:
    # Its budget check must see the answer's call settled, not still holding a reservation.
    async with start_bot(conversations=ConversationSettings(auto_title=True)) as running:
        tg, fake = running.tg, running.fake_llm
        fake.on("Write a title", Reply(text="Late title"))
        fake.script(Reply(text="Answered.", tail_delay=TAIL))
        await tg.user(FRIEND_ID).send("name this chat")
        await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "Answered.")
        await tg.wait_until(lambda: len(fake.chat_requests) == 2)
        answer_call, title_call = fake.chat_requests
        assert answer_call.done_at is not None and title_call.received_at >= answer_call.done_at
        conv = await conversation(running, FRIEND_ID, FRIEND_ID)
        await running.app.chat_service.titles.drain()  # the title task, to its end
        got = await running.storage.conversations.get(conv.id)
        assert got is not None and got.title == "Late title"


async def test_stop_after_the_answer_is_written_says_there_is_nothing_to_stop(
    running: Running,
) -> None:
    tg, fake = running.tg, running.fake_llm
    fake.script(Reply(text="Already whole.", tail_delay=TAIL))
    user = tg.user(FRIEND_ID)
    await user.send("quick one")
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "Already whole.")
    [request] = [r for r in fake.requests if r.stream]
    assert request.done_at is None  # the call is still ending...
    await user.send("/stop")
    # ...but the answer is written: not "stopped", and the user is told so.
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text.startswith("Nothing to stop"))
    [record] = await usage_records(running, FRIEND_ID, lambda rs: len(rs) == 1)
    assert record.outcome == "ok"
    texts = [m.text for m in tg.chat(FRIEND_ID).bot_messages]
    assert texts[0] == "Already whole." and len(texts) == 2
