"""The send budget's priorities: final messages first, previews only from spare budget,
and the streamer's reasoning preview, Stop button and final keyboard on a fake session."""

from __future__ import annotations

import asyncio

from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity

from app.bot.delivery.answer_setup import AnswerLook, AnswerTarget, StreamPacing
from app.bot.delivery.priority_limiter import PriorityLimiter, take_spare, wait_spare
from app.bot.delivery.streaming import AnswerStreamer
from app.bot.rendering.answer_parts import compose_final, join_parts, reasoning_block
from app.bot.rendering.markdown import RenderedPart, utf16_len
from tests.bot.fake_session import FakeSession


async def test_previews_take_only_a_share_of_the_burst() -> None:
    limiter = PriorityLimiter(10, burst_seconds=1.0)  # spare ceiling: 2 of a burst of 10
    assert await take_spare(limiter) and await take_spare(limiter)
    assert not await take_spare(limiter)
    # Finals still have the rest of the burst, at once.
    for _ in range(8):
        await asyncio.wait_for(limiter.acquire(), 0.05)
    assert limiter.spare_taken == 2 and limiter.spare_refused == 1


async def test_no_preview_while_a_final_waits_and_finals_keep_their_order() -> None:
    limiter = PriorityLimiter(20, burst_seconds=1.0)
    for _ in range(20):
        await limiter.acquire()  # the bucket is full
    order: list[int] = []

    async def final(n: int) -> None:
        await limiter.acquire()
        order.append(n)

    finals = [asyncio.create_task(final(n)) for n in range(3)]
    await asyncio.sleep(0.01)
    assert limiter.finals_waiting() == 3
    assert not limiter.has_spare() and not await take_spare(limiter)
    await asyncio.wait_for(asyncio.gather(*finals), 2)
    assert order == [0, 1, 2]
    # Once the finals are out and the bucket drains, previews may go again.
    assert await wait_spare(limiter, within=2.0)


async def test_tidy_calls_give_up_without_spare_budget() -> None:
    limiter = PriorityLimiter(5, burst_seconds=1.0)
    for _ in range(5):
        await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())  # a final in line
    await asyncio.sleep(0)
    assert not await wait_spare(limiter, within=0.05, poll=0.01)
    await waiter


def test_join_parts_moves_the_second_parts_entities() -> None:
    quote = reasoning_block("because 😀 so", "💭", expandable=True)
    body = RenderedPart("bold", [MessageEntity(type="bold", offset=0, length=4)])
    joined = join_parts(quote, body)
    bold = joined.entities[-1]
    assert bold.offset == utf16_len(quote.text + "\n\n") and bold.length == 4
    assert joined.entities[0].type == "expandable_blockquote"


async def test_long_reasoning_is_cut_and_never_pushes_the_answer_out() -> None:
    header = reasoning_block("x" * 10_000, "💭 Reasoning", expandable=True)
    assert utf16_len(header.text) <= 3000 and header.text.endswith("…")
    parts = await compose_final("The answer.", limit=4096, empty_text="…", header=header)
    assert len(parts) == 1 and parts[0].text.endswith("The answer.")
    parts = await compose_final("y" * 4000, limit=4096, empty_text="…", header=header)
    assert parts[0] == header and "y" * 100 in parts[1].text  # its own message first


async def test_stop_button_rides_on_edited_previews_and_the_final_gets_the_keyboard() -> None:
    session = FakeSession()
    bot = Bot(token="42:TEST", session=session)
    stop = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Stop", callback_data="stop")]]
    )
    final = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Again", callback_data="again")]]
    )
    s = AnswerStreamer(
        AnswerTarget(bot, 777, private=False),
        StreamPacing(PriorityLimiter(1000), edit_interval=0.0, min_new_chars=1),
        look=AnswerLook(reasoning_mode="stream", reasoning_label="💭 Thinking…", stop_markup=stop),
    )
    await s.reasoning("pondering the question")
    await s.update("Answer so far")
    await s.finish("Answer so far, done.", reply_markup=final)
    sent = session.params("sendMessage")
    edits = session.params("editMessageText")
    assert "pondering" in sent[0]["text"] and sent[0]["reply_markup"]["inline_keyboard"]
    assert sent[0]["entities"][0]["type"] == "blockquote"
    assert edits[0]["reply_markup"] == sent[0]["reply_markup"]  # Stop stays while streaming
    last = edits[-1]
    assert last["text"] == "Answer so far, done."  # no reasoning: the sink adds it, if any
    assert last["reply_markup"]["inline_keyboard"][0][0]["text"] == "Again"


async def test_a_first_sign_of_life_may_use_more_of_the_burst() -> None:
    limiter = PriorityLimiter(10, burst_seconds=1.0, first_share=0.6)  # updates 2, first 6
    assert await take_spare(limiter) and await take_spare(limiter)
    assert not await take_spare(limiter)
    taken = [await take_spare(limiter, first=True) for _ in range(5)]
    assert taken == [True, True, True, True, False]
    # By default a first sign of life may use the whole burst, but never a final's turn.
    limiter = PriorityLimiter(4, burst_seconds=1.0)
    assert [await take_spare(limiter, first=True) for _ in range(5)] == [True] * 4 + [False]


async def test_half_a_second_of_burst_and_rate_changes_keep_it() -> None:
    limiter = PriorityLimiter(20)  # 20 per second, a burst of 10
    for _ in range(10):
        await asyncio.wait_for(limiter.acquire(), 0.05)
    assert not limiter.has_capacity()
    limiter.set_rate(10)  # a second instance joined (app.bot.delivery.send_budget)
    assert limiter.rate == 10 and limiter.max_rate == 5
