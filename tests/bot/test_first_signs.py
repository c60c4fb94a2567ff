"""Answers that found no spare budget for their "typing…" queue for it: served in arrival
order from spare budget, finals first, no other preview while anybody waits, and a queued
turn given up (its unit returned) when the answer shows something else or ends."""

from __future__ import annotations

import asyncio

from aiogram import Bot

from app.bot.delivery.answer_setup import AnswerTarget, StreamPacing
from app.bot.delivery.priority_limiter import PriorityLimiter, take_spare
from app.bot.delivery.streaming import AnswerStreamer
from tests.bot.fake_session import FakeSession


def drained(rate: float = 20.0) -> PriorityLimiter:
    limiter = PriorityLimiter(rate, burst_seconds=0.5)  # a burst of rate / 2 units
    for _ in range(int(rate / 2)):
        assert limiter.try_acquire_spare(first=True)
    return limiter


def answer_without_budget() -> tuple[FakeSession, PriorityLimiter, AnswerStreamer]:
    session, limiter = FakeSession(), drained()
    bot = Bot(token="42:TEST", session=session)
    return (
        session,
        limiter,
        AnswerStreamer(AnswerTarget(bot, 7, private=True), StreamPacing(limiter)),
    )


async def test_first_signs_are_served_in_arrival_order_as_the_bucket_leaks() -> None:
    limiter = drained()
    order: list[int] = []

    async def wait_turn(n: int) -> None:
        await limiter.first_sign_turn()
        order.append(n)

    turns = [asyncio.create_task(wait_turn(n)) for n in range(4)]
    await asyncio.sleep(0)
    assert order == [] and limiter.first_signs_waiting()
    # Nothing else that is spare goes while they wait: not an update, not a first preview.
    assert not limiter.has_spare() and not limiter.has_spare(first=True)
    await asyncio.wait_for(asyncio.gather(*turns), 2)
    assert order == [0, 1, 2, 3]
    assert not limiter.first_signs_waiting()


async def test_a_waiting_final_goes_before_the_queued_first_signs() -> None:
    limiter = drained()
    order: list[str] = []

    async def first_sign() -> None:
        await limiter.first_sign_turn()
        order.append("typing")

    async def final() -> None:
        await limiter.acquire()
        order.append("final")

    typing = asyncio.create_task(first_sign())
    await asyncio.sleep(0)
    answer = asyncio.create_task(final())
    await asyncio.wait_for(asyncio.gather(typing, answer), 2)
    assert order == ["final", "typing"]


async def test_a_turn_cancelled_after_it_came_returns_its_unit() -> None:
    limiter = drained()
    turn = asyncio.create_task(limiter.first_sign_turn())
    await asyncio.sleep(0)
    limiter._level = 0.0  # the bucket has emptied: the turn is served at once...
    limiter._serve_first_signs()
    assert limiter._level == 1.0
    turn.cancel()  # ...but its task is cancelled before it ran on
    await asyncio.gather(turn, return_exceptions=True)
    assert turn.cancelled()
    assert limiter._level < 1.0  # the unit is back in the bucket
    assert not limiter.first_signs_waiting()


async def test_an_answer_without_spare_budget_shows_typing_in_its_turn() -> None:
    session, _limiter, s = answer_without_budget()
    await s.start()
    assert session.methods() == []  # no budget now: queued, not dropped
    turn = s._typing._turn
    assert turn is not None
    await asyncio.wait_for(turn, 2)  # its turn came...
    await s._typing.sent()  # ...and the typing call went out
    assert session.methods() == ["sendChatAction"]
    await s.finish("Done.")
    assert session.methods() == ["sendChatAction", "sendMessage"]


async def test_an_answer_finished_before_its_turn_gives_the_turn_up() -> None:
    session, limiter, s = answer_without_budget()
    await s.start()
    await s.finish("Quick.")
    await asyncio.sleep(0.2)  # several units leak meanwhile
    assert session.methods() == ["sendMessage"]  # no typing after the answer
    assert not limiter.first_signs_waiting()
    # Its unit was not spent: the other answers' spare budget is all there.
    assert await take_spare(limiter, first=True)


async def test_the_turn_ends_with_the_update_that_queued_it() -> None:
    session, limiter, s = answer_without_budget()

    async def update_that_fails() -> None:
        await s.start()
        raise RuntimeError("the handler broke before the answer")

    task = asyncio.create_task(update_that_fails())
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0.2)
    assert session.methods() == []  # nobody is shown "typing…" for an answer that is gone
    assert not limiter.first_signs_waiting()


async def test_a_closed_answer_gets_no_typing_after_it() -> None:
    # The update failed after start(); its error reply went out in the same task.
    session, limiter, s = answer_without_budget()
    await s.start()
    s.close()
    await asyncio.sleep(0.2)  # several units leak meanwhile
    assert session.methods() == []
    assert not limiter.first_signs_waiting()


async def test_a_higher_rate_serves_the_line_at_once() -> None:
    # One instance of three stops: the rate goes up, and the line does not wait out a
    # timer set at the old rate.
    limiter = PriorityLimiter(0.5, burst_seconds=2.0)  # one unit, then one every 2 s
    assert limiter.try_acquire_spare(first=True)
    turn = asyncio.create_task(limiter.first_sign_turn())
    await asyncio.sleep(0.01)
    assert not turn.done()
    limiter.set_rate(100.0)
    await asyncio.wait_for(turn, 1.0)
