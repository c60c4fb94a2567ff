"""What an answer shows besides its text, end to end: the model's reasoning (/reasoning off,
on, stream), the /usage footer from the usage record, /me and /start with the user's own
spend, and exactly one final message after drafts and after a 429."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from app.bot.rendering.usage_texts import format_cost, usd
from app.storage import UsageRecord
from llmdoor import LLMSettings
from tests.e2e.conftest import FAKE_MODEL, FRIEND_ID, Running, StartBot
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.tg_emulator import EmuMessage

REASONING = "First I add two and two. That makes four, so the answer is four."
ANSWER = "The answer is 4."
GROUP_ID = -1001234000001


async def records_of(
    running: Running, user_id: int, until: Callable[[list[UsageRecord]], bool]
) -> list[UsageRecord]:
    for _ in range(200):
        records = [r async for r in running.storage.usage.iter_records(user_id=user_id)]
        if until(records):
            return records
        await asyncio.sleep(0.05)
    raise AssertionError(f"usage records never matched: {records}")


async def set_reasoning(running: Running, mode: str) -> None:
    tg = running.tg
    await tg.user(FRIEND_ID).send(f"/reasoning {mode}")
    await tg.wait_for_message(
        FRIEND_ID, lambda m: m.text.startswith("Reasoning display") and mode in m.text
    )


async def reasoned_answer(running: Running, question: str, **reply: object) -> EmuMessage:
    running.fake_llm.script(
        Reply(text=ANSWER, reasoning=REASONING, chunk_size=4, chunk_delay=0.01, **reply)  # type: ignore[arg-type]
    )
    await running.tg.user(FRIEND_ID).send(question)
    return await running.tg.wait_for_message(FRIEND_ID, lambda m: m.text.endswith(ANSWER))


async def test_streamed_reasoning_is_live_then_collapsed_and_never_in_the_history(
    running: Running,
) -> None:
    tg, fake = running.tg, running.fake_llm
    await set_reasoning(running, "stream")
    final = await reasoned_answer(running, "what is 2+2?")
    # Live: drafts showed the reasoning in a quote before the answer started.
    drafts = tg.drafts(FRIEND_ID)
    thinking = [d for d in drafts if "two and two" in d.text]
    assert thinking and all(ANSWER not in d.text for d in thinking[:1])
    assert any(e["type"] == "blockquote" for d in thinking for e in d.entities)
    # Final: collapsed in an expandable quote above the answer, apart from it.
    quotes = final.entity_texts("expandable_blockquote")
    assert len(quotes) == 1 and REASONING in quotes[0][1]
    assert ANSWER not in quotes[0][1]
    # History: the answer only; the next request carries no reasoning.
    conv = await running.storage.conversations.active(FRIEND_ID, FRIEND_ID)
    assert conv.turns[-1].content == ANSWER
    await tg.user(FRIEND_ID).send("thanks")
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "echo: thanks")
    sent = " ".join(str(m["content"]) for m in fake.chat_requests[-1].messages)
    assert ANSWER in sent and "two and two" not in sent


async def test_reasoning_on_is_collapsed_but_not_streamed_and_off_hides_it(
    running: Running,
) -> None:
    tg = running.tg
    tg.user(FRIEND_ID, "Fred")
    # Default "on": collapsed in the final message, not streamed (a "thinking" line only).
    mark = len(tg.drafts(FRIEND_ID))
    final = await reasoned_answer(running, "q1")
    assert REASONING in final.entity_texts("expandable_blockquote")[0][1]
    assert not any("two and two" in d.text for d in tg.drafts(FRIEND_ID)[mark:])
    await set_reasoning(running, "off")
    final = await reasoned_answer(running, "q2")
    assert final.text == ANSWER and final.entity_texts("expandable_blockquote") == []
    # Bad input gets a clear message and changes nothing.
    await tg.user(FRIEND_ID).send("/reasoning loud")
    await tg.wait_for_message(FRIEND_ID, lambda m: "/reasoning stream" in m.text)
    record = await running.storage.users.get(FRIEND_ID)
    assert record is not None and record.prefs.reasoning == "off"


async def test_inline_think_from_a_local_model_is_reasoning_not_answer(
    running: Running,
) -> None:
    tg, fake = running.tg, running.fake_llm
    await set_reasoning(running, "stream")
    fake.script(
        Reply(text=f"<think>{REASONING}</think>\n\n{ANSWER}", chunk_size=4, chunk_delay=0.01)
    )
    await tg.user(FRIEND_ID).send("what is 2+2, locally?")
    final = await tg.wait_for_message(FRIEND_ID, lambda m: m.text.endswith(ANSWER))
    # Streamed live as reasoning; no draft ever showed a tag.
    drafts = tg.drafts(FRIEND_ID)
    assert any("two and two" in d.text for d in drafts)
    assert not any("think>" in d.text for d in drafts)
    # Final: collapsed apart from the answer; the answer and the history hold no trace.
    quotes = final.entity_texts("expandable_blockquote")
    assert len(quotes) == 1 and REASONING in quotes[0][1]
    assert "think>" not in final.text
    assert final.text.removeprefix(quotes[0][1]).strip().endswith(ANSWER)
    conv = await running.storage.conversations.active(FRIEND_ID, FRIEND_ID)
    assert conv.turns[-1].content == ANSWER
    await tg.user(FRIEND_ID).send("thanks")
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "echo: thanks")
    sent = " ".join(str(m["content"]) for m in fake.chat_requests[-1].messages)
    assert ANSWER in sent and "two and two" not in sent and "think>" not in sent


async def test_reasoning_counts_toward_usage(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    # Without a usage chunk from the vendor the cost is estimated from what arrived.
    fake.script(Reply(text=ANSWER, send_usage=False))
    await tg.user(FRIEND_ID).send("plain")
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text == ANSWER)
    await reasoned_answer(running, "reasoned", send_usage=False)
    records = await records_of(running, FRIEND_ID, lambda rs: len(rs) == 2)
    plain, reasoned = sorted(records, key=lambda r: r.created_at)
    assert plain.cost_estimated and reasoned.cost_estimated
    assert reasoned.completion_tokens > plain.completion_tokens


@pytest_asyncio.fixture
async def priced(start_bot: StartBot, fake_llm: FakeOpenAI) -> AsyncIterator[Running]:
    """The fake model at the operator's fallback price, so answers have a cost."""
    llm = LLMSettings(
        default_model=FAKE_MODEL,
        api_base=fake_llm.base_url,
        api_key="sk-test",
        unpriced_input_per_mtok=1.0,
        unpriced_output_per_mtok=2.0,
        gateway_discovery=False,
        max_retries=0,
        timeout=5,
    )
    async with start_bot(llm=llm) as running:
        yield running


async def test_usage_footer_matches_the_usage_record(priced: Running) -> None:
    running = priced
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("/usage on")
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text.startswith("📊 Each answer"))
    fake.script(Reply(text="Counted answer.", prompt_tokens=123, completion_tokens=45))
    await friend.send("count me")
    final = await tg.wait_for_message(FRIEND_ID, lambda m: m.text.startswith("Counted answer."))
    [record] = await records_of(running, FRIEND_ID, lambda rs: len(rs) == 1)
    footer = final.text.split("\n")[-1]
    assert record.prompt_tokens == 123 and record.completion_tokens == 45
    assert f"{record.shortcut or record.model} · 123 in / 45 out" in footer
    assert record.cost_usd == pytest.approx(123e-6 + 45 * 2e-6)
    assert f"${record.cost_usd:.6f}" in footer
    assert format_cost(record) in footer
    assert record.ttft_ms is not None
    assert f"first token {record.ttft_ms / 1000:.2f} s" in footer
    assert f"total {record.latency_ms / 1000:.2f} s" in footer
    # Off again: no footer.
    await friend.send("/usage off")
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "The cost footer is off.")
    await friend.send("bare")
    bare = await tg.wait_for_message(FRIEND_ID, lambda m: m.text.startswith("echo: bare"))
    assert bare.text == "echo: bare"


async def test_stopped_and_cut_off_answers_get_a_partial_footer(priced: Running) -> None:
    running = priced
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("/usage on")
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text.startswith("📊 Each answer"))
    # Stopped with /stop: the footer shows the partial call's (estimated) usage.
    fake.script(Reply(text=" ".join(f"w{i}" for i in range(400)), chunk_size=6, chunk_delay=0.02))
    await friend.send("long one")
    await tg.wait_until(lambda: any("w1" in d.text for d in tg.drafts(FRIEND_ID)))
    await friend.send("/stop")
    stopped = await tg.wait_for_message(FRIEND_ID, lambda m: "⏹ Stopped." in m.text)
    [record] = await records_of(running, FRIEND_ID, lambda rs: len(rs) == 1)
    assert record.outcome == "partial" and record.cost_usd
    footer = stopped.text.split("\n")[-1]
    assert footer.startswith(f"📊 {record.shortcut or record.model} (partial) ·")
    assert f"{record.prompt_tokens} in / {record.completion_tokens} out" in footer
    assert format_cost(record) in footer
    # Cut off: the model's stream broke.
    fake.script(Reply(text=" ".join(f"c{i}" for i in range(50)), chunk_size=5, break_after=3))
    await friend.send("break please")
    cut = await tg.wait_for_message(FRIEND_ID, lambda m: "cut off" in m.text)
    records = await records_of(running, FRIEND_ID, lambda rs: len(rs) == 2)
    broken = max(records, key=lambda r: r.created_at)
    footer = cut.text.split("\n")[-1]
    assert "(partial)" in footer and format_cost(broken) in footer


async def test_me_and_start_show_own_spend_and_budget(priced: Running) -> None:
    running = priced
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    await running.storage.users.set_budget(FRIEND_ID, 2.5)
    await friend.send("/me")
    empty = await tg.wait_for_message(FRIEND_ID, lambda m: m.text.startswith("💰 Your spend"))
    assert "Today: $0" in empty.text and "$2.50 a day, $2.50 left today" in empty.text
    fake.script(Reply(text="Paid answer.", prompt_tokens=1000, completion_tokens=500))
    await friend.send("spend something")
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text.startswith("Paid answer."))
    [record] = await records_of(running, FRIEND_ID, lambda rs: len(rs) == 1)
    assert record.cost_usd
    await friend.send("/me")
    me = await tg.wait_for_message(
        FRIEND_ID, lambda m: m.text.startswith("💰 Your spend") and m.message_id != empty.message_id
    )
    assert f"Today: {usd(record.cost_usd)}" in me.text
    assert f"This month: {usd(record.cost_usd)}" in me.text
    assert f"{usd(2.5 - record.cost_usd)} left today" in me.text
    await friend.send("/start")
    start = await tg.wait_for_message(FRIEND_ID, lambda m: m.text.startswith("Hi, Fred"))
    assert f"Today: {usd(record.cost_usd)}" in start.text and "/me" in start.text


async def test_one_final_message_after_drafts_even_when_it_gets_a_429(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    text = "A streamed answer that shows a few drafts first. " * 4
    fake.script(Reply(text=text, chunk_size=8, chunk_delay=0.01))
    tg.fail_next("sendMessage", 429, retry_after=1)
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("hello")
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text == text.strip())
    await tg.wait_quiet(quiet=1.5)
    assert len(tg.drafts(FRIEND_ID)) >= 2
    assert [c.status for c in tg.calls("sendMessage")] == [429, 200]
    assert len(friend.chat.bot_messages) == 1


async def test_one_final_message_in_a_group_when_the_final_edit_gets_a_429(
    running: Running,
) -> None:
    tg, fake = running.tg, running.fake_llm
    text = "An answer streamed as an edited message in a group chat. " * 3
    fake.script(Reply(text=text, chunk_size=8, chunk_delay=0.02))
    # The final edit is the one that puts the answer buttons on.
    tg.fail_next(
        "editMessageText",
        429,
        retry_after=1,
        when=lambda p: "Regenerate" in str(p.get("reply_markup")),
    )
    friend = tg.user(FRIEND_ID, "Fred")
    group = tg.group(GROUP_ID, "Team")
    await friend.send_in(group, "hello", mention_bot=True)
    final = await tg.wait_for_message(
        group.id, lambda m: m.text == text.strip() and "🔄 Regenerate" in m.button_texts
    )
    await tg.wait_quiet(quiet=1.5)
    assert 429 in [c.status for c in tg.calls("editMessageText")]
    bot_messages = tg.chat(group.id).bot_messages
    assert [m.message_id for m in bot_messages] == [final.message_id]


async def test_a_final_message_whose_response_is_lost_is_not_sent_twice(
    running: Running,
) -> None:
    tg, fake = running.tg, running.fake_llm
    text = "An answer Telegram delivered although the bot never heard back. " * 2
    fake.script(Reply(text=text, chunk_size=8, chunk_delay=0.01))
    # Telegram delivers the message, then the connection drops before its answer arrives.
    tg.lose_response_next("sendMessage")
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("hello")
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text == text.strip())
    await tg.wait_quiet(quiet=1.5)
    assert [c.lost for c in tg.calls("sendMessage")] == [True]
    assert len(friend.chat.bot_messages) == 1  # never a duplicate of the answer
    # The answer is kept in the conversation, and the bot goes on.
    conv = await running.storage.conversations.active(FRIEND_ID, FRIEND_ID)
    assert conv.turns[-1].content.strip() == text.strip()
    await friend.send("next")
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "echo: next")
    sent = " ".join(str(m["content"]) for m in fake.chat_requests[-1].messages)
    assert text.strip() in sent
    # (The next answer waited for this one to be done: any resend would be in by now.)
    assert [m.text for m in friend.chat.bot_messages] == [text.strip(), "echo: next"]


async def test_the_model_is_asked_while_typing_is_on_its_way_and_text_never_overtakes_it(
    running: Running,
) -> None:
    tg, fake = running.tg, running.fake_llm
    slow = 1.0  # Telegram answers "typing…" this late
    tg.fail_next("sendChatAction", code=None, delay=slow)
    fake.script(Reply(text="Quick answer.", chunk_size=5, chunk_delay=0.01))
    await tg.user(FRIEND_ID).send("hello")
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "Quick answer.")
    typing = next(c for c in tg.calls() if c.method.lower() == "sendchataction")
    typing_answered = typing.time + slow
    (request,) = fake.chat_requests
    # The model request did not wait for Telegram's answer to the typing call...
    assert request.received_at < typing_answered - slow / 2
    # ...but no draft or message went out before that answer.
    texts = [c for c in tg.calls() if c.method.lower() in ("sendmessagedraft", "sendmessage")]
    assert texts and all(c.time >= typing_answered - 0.05 for c in texts)
