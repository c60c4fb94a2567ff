"""Answer controls end to end: ⏹ Stop (button and /stop), 🔄 Regenerate, ➡️ Continue and
🔀 Another model, who may press them and when they expire, on the emulator with the fake
model over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from app.storage import Conversation, UsageRecord
from llmdoor import LLMSettings
from tests.e2e.conftest import ADMIN_ID, FAKE_MODEL, FRIEND_ID, Running, StartBot
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.tg_emulator import EmuMessage, TelegramEmulator

REGENERATE, CONTINUE, OTHER = "🔄 Regenerate", "➡️ Continue", "🔀 Another model"
BUTTONS = [REGENERATE, CONTINUE, OTHER]
GROUP_ID = -1001234000000
PAL_ID = 201  # a second friend, for the group tests


async def conversation(running: Running, user_id: int, chat_id: int) -> Conversation:
    return await running.storage.conversations.active(user_id, chat_id)


async def usage_records(
    running: Running, user_id: int, until: Callable[[list[UsageRecord]], bool]
) -> list[UsageRecord]:
    """The user's usage records once ``until`` holds (they are written in the background)."""
    for _ in range(200):
        records = [r async for r in running.storage.usage.iter_records(user_id=user_id)]
        if until(records):
            return records
        await asyncio.sleep(0.05)
    raise AssertionError(f"usage records never matched: {records}")


async def ask(tg: TelegramEmulator, user_id: int, text: str, expect: str) -> EmuMessage:
    await tg.user(user_id).send(text)
    return await tg.wait_for_message(user_id, lambda m: m.text.startswith(expect))


def answer_messages(tg: TelegramEmulator, chat_id: int) -> list[EmuMessage]:
    return [m for m in tg.chat(chat_id).bot_messages if m.button_texts == BUTTONS]


# ---------------------------------------------------------------------------- stop


async def test_stop_button_mid_stream_keeps_the_partial_and_records_partial_usage(
    running: Running,
) -> None:
    tg, fake = running.tg, running.fake_llm
    full = " ".join(f"word{i}" for i in range(400))
    fake.script(Reply(text=full, chunk_size=6, chunk_delay=0.02))
    friend = tg.user(FRIEND_ID, "Fred")
    group = tg.group(GROUP_ID, "Team")
    await friend.send_in(group, "tell me a long story", mention_bot=True)
    # In a group the answer streams as an edited message with a ⏹ Stop button.
    preview = await tg.wait_for_message(
        group.id, lambda m: "⏹ Stop" in m.button_texts and m.text.startswith("word")
    )
    answer = await friend.press(preview, "⏹ Stop")
    assert answer is not None and "Stopping" in (answer.text or "")
    final = await tg.wait_for_message(group.id, lambda m: m.text.endswith("⏹ Stopped."))
    assert final.message_id == preview.message_id  # the preview became the answer
    kept = final.text.removesuffix("⏹ Stopped.").strip()
    assert kept and full.startswith(kept) and len(kept) < len(full)
    assert final.button_texts == BUTTONS  # the partial answer can be continued
    # The model call was cancelled, and recorded as partial with an estimated cost.
    records = await usage_records(running, FRIEND_ID, lambda rs: len(rs) == 1)
    assert records[0].outcome == "partial" and records[0].completion_tokens > 0
    assert records[0].cost_estimated
    # The partial stays as the answer in the history.
    conv = await conversation(running, FRIEND_ID, GROUP_ID)
    assert [t.role for t in conv.turns] == ["user", "assistant"]
    assert conv.turns[-1].content.strip() == kept
    assert conv.turns[-1].message_ids == [final.message_id]


async def test_stop_command_in_a_private_chat_stops_the_drafted_answer(
    running: Running,
) -> None:
    tg, fake = running.tg, running.fake_llm
    full = " ".join(f"token{i}" for i in range(400))
    fake.script(Reply(text=full, chunk_size=6, chunk_delay=0.02))
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("long please")
    await tg.wait_until(lambda: any("token" in d.text for d in tg.drafts(FRIEND_ID)))
    await friend.send("/stop")
    final = await tg.wait_for_message(FRIEND_ID, lambda m: m.text.endswith("⏹ Stopped."))
    kept = final.text.removesuffix("⏹ Stopped.").strip()
    assert kept and full.startswith(kept) and len(kept) < len(full)
    await tg.wait_quiet()
    assert len(friend.chat.bot_messages) == 1  # one final message after the drafts
    records = await usage_records(running, FRIEND_ID, lambda rs: len(rs) == 1)
    assert records[0].outcome == "partial"
    # Nothing running: /stop says so.
    await friend.send("/stop")
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text.startswith("Nothing to stop"))


# ---------------------------------------------------------------------------- regenerate


async def test_regenerate_replaces_the_history_entry_and_keeps_both_messages(
    running: Running,
) -> None:
    tg, fake = running.tg, running.fake_llm
    fake.script(Reply(text="First take."), Reply(text="Second take."))
    first = await ask(tg, FRIEND_ID, "a question", "First take.")
    assert first.button_texts == BUTTONS
    await tg.user(FRIEND_ID).press(first, REGENERATE)
    second = await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "Second take.")
    await tg.wait_until(lambda: first.button_texts == [])  # only the latest has buttons
    assert second.button_texts == BUTTONS
    texts = tg.chat(FRIEND_ID).texts()
    assert "First take." in texts and "Second take." in texts  # Telegram keeps both
    # The model was asked the same prompt without the old answer.
    contents = [m["content"] for m in fake.chat_requests[-1].messages]
    assert contents[-1] == "a question" and "First take." not in contents
    conv = await conversation(running, FRIEND_ID, FRIEND_ID)
    assert [(t.role, t.content) for t in conv.turns] == [
        ("user", "a question"),
        ("assistant", "Second take."),
    ]
    assert conv.turns[-1].message_ids == [second.message_id]
    # The next question sees the regenerated answer only.
    await ask(tg, FRIEND_ID, "and then?", "echo: and then?")
    contents = [m["content"] for m in fake.chat_requests[-1].messages]
    assert "Second take." in contents and "First take." not in contents


async def test_double_press_and_replay_make_one_model_call(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    fake.script(Reply(text="Take one."), Reply(text="Take two.", chunk_delay=0.05))
    first = await ask(tg, FRIEND_ID, "q", "Take one.")
    friend = tg.user(FRIEND_ID)
    data = next(b["callback_data"] for b in first.buttons if b["text"] == REGENERATE)
    before = len(fake.chat_requests)
    # Two presses at once (a double tap), then the same callback replayed later.
    await asyncio.gather(friend.send_callback(data, first), friend.send_callback(data, first))
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "Take two.")
    await tg.wait_quiet()
    replay = await friend.send_callback(data, first)
    assert replay is not None and "expired" in (replay.text or "")
    await tg.wait_quiet()
    assert len(fake.chat_requests) == before + 1  # one charge
    conv = await conversation(running, FRIEND_ID, FRIEND_ID)
    assert [t.content for t in conv.turns] == ["q", "Take two."]  # one history entry
    records = await usage_records(running, FRIEND_ID, lambda rs: len(rs) == 2)
    assert len(records) == 2


# ---------------------------------------------------------------------------- continue


async def test_continue_after_the_length_limit_appends_to_the_answer(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    fake.script(Reply(text="The list: one, two,", finish_reason="length"), Reply(text="three."))
    first = await ask(tg, FRIEND_ID, "count to three", "The list")
    assert "length limit" in first.text
    await tg.user(FRIEND_ID).press(first, CONTINUE)
    more = await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "three.")
    await tg.wait_until(lambda: first.button_texts == [])
    assert more.button_texts == BUTTONS
    # The model saw its own answer and was asked to go on.
    messages = fake.chat_requests[-1].messages
    assert messages[-2] == {"role": "assistant", "content": "The list: one, two,"}
    assert "Continue" in messages[-1]["content"]
    conv = await conversation(running, FRIEND_ID, FRIEND_ID)
    assert [(t.role, t.content) for t in conv.turns] == [
        ("user", "count to three"),
        ("assistant", "The list: one, two, three."),
    ]
    assert conv.turns[-1].message_ids == [first.message_id, more.message_id]


# ---------------------------------------------------------------------------- another model


async def test_another_model_regenerates_with_the_model_picked(
    start_bot: StartBot, fake_llm: FakeOpenAI
) -> None:
    llm = LLMSettings(
        default_model=FAKE_MODEL,
        api_base=fake_llm.base_url,
        api_key="sk-test",
        shortcuts={"fakebig": "openai/fake-big"},
        unpriced_input_per_mtok=1.0,
        unpriced_output_per_mtok=2.0,
        gateway_discovery=False,
        max_retries=0,
        timeout=5,
    )
    async with start_bot(llm=llm) as running:
        tg = running.tg
        friend = tg.user(FRIEND_ID, "Fred")
        first = await ask(tg, FRIEND_ID, "which model?", "echo: which model?")
        await friend.press(first, OTHER)
        await tg.wait_until(lambda: "fakebig" in first.button_texts)
        assert "« Back" in first.button_texts
        # The default model is not in the picker, so nothing is marked yet.
        assert not [t for t in first.button_texts if t.startswith("✅")]
        await friend.press(first, "fakebig")
        second = await tg.wait_for_message(
            FRIEND_ID, lambda m: m.message_id != first.message_id and m.text.startswith("echo:")
        )
        assert fake_llm.chat_requests[-1].json["model"] == "fake-big"
        conv = await conversation(running, FRIEND_ID, FRIEND_ID)
        assert conv.turns[-1].model == "openai/fake-big"
        assert conv.turns[-1].message_ids == [second.message_id]
        record = await running.storage.users.get(FRIEND_ID)
        assert record is not None and record.model is None  # for this answer only
        # The picker under the new answer marks the model it came from.
        await tg.wait_until(lambda: OTHER in second.button_texts)
        await friend.press(second, OTHER)
        await tg.wait_until(lambda: "✅ fakebig" in second.button_texts)
        assert [t for t in second.button_texts if t.startswith("✅")] == ["✅ fakebig"]
        await ask(tg, FRIEND_ID, "and now?", "echo: and now?")
        assert fake_llm.chat_requests[-1].json["model"] == "fake-model"


# ---------------------------------------------------------------------------- who and when


async def test_another_user_pressing_the_buttons_changes_nothing(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    group = tg.group(GROUP_ID, "Team")
    fred, pal = tg.user(FRIEND_ID, "Fred"), tg.user(ADMIN_ID, "Ada")
    fake.script(Reply(text="Fred's answer.", chunk_size=4, chunk_delay=0.05))
    await fred.send_in(group, "my question", mention_bot=True)
    streaming = await tg.wait_for_message(group.id, lambda m: "⏹ Stop" in m.button_texts)
    refused = await pal.press(streaming, "⏹ Stop")  # not theirs to stop
    assert refused is not None and "Only the person who asked" in (refused.text or "")
    answer = await tg.wait_for_message(
        group.id, lambda m: m.text == "Fred's answer." and m.button_texts == BUTTONS
    )
    assert answer.button_texts == BUTTONS
    before = len(fake.chat_requests)
    for button in BUTTONS:
        reply = await pal.press(answer, button)
        assert reply is not None and "belong to the person who asked" in (reply.text or "")
    # Forged: the same buttons claiming to be Ada's own answer.
    for button in answer.buttons:
        forged = button["callback_data"].replace(f":{FRIEND_ID}", f":{ADMIN_ID}")
        reply = await pal.send_callback(forged, answer)
        assert reply is not None and "expired" in (reply.text or "")
    await tg.wait_quiet()
    assert len(fake.chat_requests) == before
    conv = await conversation(running, FRIEND_ID, GROUP_ID)
    assert [t.content for t in conv.turns] == ["my question", "Fred's answer."]
    assert (await conversation(running, ADMIN_ID, GROUP_ID)).turns == []


async def test_an_old_answers_buttons_expire(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    old = await ask(tg, FRIEND_ID, "first", "echo: first")
    old_data = {b["text"]: b["callback_data"] for b in old.buttons}
    new = await ask(tg, FRIEND_ID, "second", "echo: second")
    await tg.wait_until(lambda: old.button_texts == [])  # moved to the latest answer
    assert new.button_texts == BUTTONS
    before = len(fake.chat_requests)
    for data in old_data.values():
        reply = await friend.send_callback(data, old)
        assert reply is not None and "expired" in (reply.text or "")
    await tg.wait_quiet()
    assert len(fake.chat_requests) == before
    assert len(answer_messages(tg, FRIEND_ID)) == 1
    # A new conversation: the last answer of the old one loses its buttons, and a press
    # that still arrives (an old client, a replay) has expired too.
    new_data = {b["text"]: b["callback_data"] for b in new.buttons}
    await friend.send("/new")
    await tg.wait_for_message(FRIEND_ID, lambda m: "New conversation" in m.text)
    await tg.wait_until(lambda: new.button_texts == [])
    reply = await friend.send_callback(new_data[REGENERATE], new)
    assert reply is not None and "expired" in (reply.text or "")
    await tg.wait_quiet()
    assert len(fake.chat_requests) == before


async def test_stop_also_stops_a_queued_answer_without_calling_the_model(
    running: Running,
) -> None:
    tg, fake = running.tg, running.fake_llm
    fake.script(Reply(text=" ".join(f"w{i}" for i in range(300)), chunk_size=5, chunk_delay=0.02))
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("first, long")
    await tg.wait_until(lambda: any(d.text.startswith("w0") for d in tg.drafts(FRIEND_ID)))
    await friend.send("second, queued behind the first")
    await asyncio.sleep(0.2)
    await friend.send("/stop")
    await tg.wait_until(
        lambda: sum(m.text.endswith("⏹ Stopped.") for m in friend.chat.bot_messages) == 2
    )
    await tg.wait_quiet()
    assert len(fake.chat_requests) == 1  # the queued answer never reached the model
    conv = await conversation(running, FRIEND_ID, FRIEND_ID)
    assert conv.turns[0].content == "first, long"
    assert len(conv.turns) == 2  # the stopped partial only; the queued one left no entry


async def test_switching_conversations_in_chats_takes_the_buttons_off(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    await ask(tg, FRIEND_ID, "alpha", "echo: alpha")
    await friend.send("/new")
    await tg.wait_for_message(FRIEND_ID, lambda m: "New conversation" in m.text)
    beta = await ask(tg, FRIEND_ID, "beta", "echo: beta")
    assert beta.button_texts == BUTTONS
    beta_data = {b["text"]: b["callback_data"] for b in beta.buttons}
    await friend.send("/chats")
    menu = await tg.wait_for_message(FRIEND_ID, lambda m: "Your conversations here" in m.text)
    alpha_button = next(t for t in menu.button_texts if "alpha" in t)
    await friend.press(menu, alpha_button)
    await tg.wait_until(lambda: "Started" in menu.text)
    await friend.press(menu, "▶️ Open")
    await tg.wait_until(lambda: "is the active conversation now" in menu.text)
    # The answer of the conversation left keeps no buttons, and a late press has expired.
    await tg.wait_until(lambda: beta.button_texts == [])
    before = len(fake.chat_requests)
    reply = await friend.send_callback(beta_data[REGENERATE], beta)
    assert reply is not None and "expired" in (reply.text or "")
    await tg.wait_quiet()
    assert len(fake.chat_requests) == before


async def test_answer_buttons_work_while_a_menu_is_open(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    fake.script(Reply(text="First take."), Reply(text="Second take."))
    first = await ask(tg, FRIEND_ID, "a question", "First take.")
    await friend.send("/chats")  # the menu's dialog is now the chat's current context
    await tg.wait_for_message(FRIEND_ID, lambda m: "Your conversations here" in m.text)
    answer = await friend.press(first, REGENERATE)
    assert answer is not None and "Regenerating" in (answer.text or "")
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "Second take.")


async def test_stop_in_a_forum_topic_stops_only_that_topics_answer(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    apples = " ".join(f"apple{i}" for i in range(300))
    pears = " ".join(f"pear{i}" for i in range(60))
    fake.script(
        Reply(text=apples, chunk_size=6, chunk_delay=0.02),
        Reply(text=pears, chunk_size=6, chunk_delay=0.02),
    )
    friend = tg.user(FRIEND_ID, "Fred")
    forum = tg.group(-1007, "Forum", forum=True)
    await friend.send_in(forum, "apples, at length", mention_bot=True, thread_id=11)
    await tg.wait_for_message(forum.id, lambda m: m.from_bot and m.text.startswith("apple"))
    await friend.send_in(forum, "pears, at length", mention_bot=True, thread_id=22)
    await tg.wait_for_message(forum.id, lambda m: m.from_bot and m.text.startswith("pear"))
    await friend.send_in(forum, "/stop", thread_id=11)
    stopped = await tg.wait_for_message(forum.id, lambda m: m.text.endswith("⏹ Stopped."), after=0)
    assert stopped.text.startswith("apple")
    # The other topic's answer is written to its end.
    done = await tg.wait_for_message(
        forum.id, lambda m: m.text == pears and m.button_texts == BUTTONS, after=0
    )
    assert done.extra.get("message_thread_id") == 22
    await tg.wait_quiet()
    assert not any(m.text.startswith("pear") and "Stopped" in m.text for m in forum.messages)


async def test_a_press_while_an_answer_is_being_written_says_expired(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    fake.script(
        Reply(text="First answer."),
        Reply(text=" ".join(f"n{i}" for i in range(150)), chunk_size=5, chunk_delay=0.02),
    )
    first = await ask(tg, FRIEND_ID, "one", "First answer.")
    await friend.send("two, at length")
    await tg.wait_until(lambda: any(d.text.startswith("n0") for d in tg.drafts(FRIEND_ID)))
    before = len(fake.chat_requests)
    # The answer being written will be the latest: the press says so, and does nothing.
    reply = await friend.press(first, REGENERATE)
    assert reply is not None and "expired" in (reply.text or "")
    assert "Regenerating" not in (reply.text or "")
    second = await tg.wait_for_message(FRIEND_ID, lambda m: m.text.startswith("n0 n1"))
    await tg.wait_quiet()
    assert len(fake.chat_requests) == before
    assert second.button_texts == BUTTONS and first.button_texts == []
    conv = await conversation(running, FRIEND_ID, FRIEND_ID)
    assert [t.content for t in conv.turns][:3] == ["one", "First answer.", "two, at length"]
    assert len(conv.turns) == 4


async def test_a_reply_that_reopens_another_conversation_takes_the_buttons_off(
    running: Running,
) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    alpha = await ask(tg, FRIEND_ID, "alpha", "echo: alpha")
    await friend.send("/new")
    await tg.wait_for_message(FRIEND_ID, lambda m: "New conversation" in m.text)
    beta = await ask(tg, FRIEND_ID, "beta", "echo: beta")
    assert beta.button_texts == BUTTONS
    # A reply to alpha's answer makes that conversation the active one again.
    await friend.send("back to alpha", reply_to=alpha)
    answer = await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "echo: back to alpha")
    await tg.wait_until(lambda: beta.button_texts == [])
    assert answer.button_texts == BUTTONS
    assert len(answer_messages(tg, FRIEND_ID)) == 1
