"""app.services.chat.call_ends: the end of a call whose answer was delivered runs with the
conversation's lock free, the next answer starts only after it, and the update that
started it waits for it (and cancels it when the update itself is cancelled)."""

from __future__ import annotations

import asyncio

import pytest

from app.services.chat.call_ends import AnswerLock, end_later, holding
from app.services.chat.running import RunningAnswers


async def test_the_lock_is_free_while_the_call_ends_and_the_next_answer_waits_for_it() -> None:
    lock = AnswerLock()
    release_end = asyncio.Event()
    log: list[str] = []

    async def call_end() -> None:
        await release_end.wait()
        log.append("first call settled")

    async def first_answer() -> None:
        async with holding(lock):
            log.append("first answer delivered")
            await end_later(asyncio.create_task(call_end()))
        log.append("first update done")

    async def next_answer() -> None:
        async with holding(lock):
            log.append("next answer starts")

    first = asyncio.create_task(first_answer())
    for _ in range(5):
        await asyncio.sleep(0)
    assert log == ["first answer delivered"]
    assert not lock.locked()  # a button pressed now is not told an answer is running
    following = asyncio.create_task(next_answer())
    for _ in range(5):
        await asyncio.sleep(0)
    assert log == ["first answer delivered"]  # it waits for the first call's settlement
    release_end.set()
    await asyncio.gather(first, following)
    assert log[:2] == ["first answer delivered", "first call settled"]
    assert set(log[2:]) == {"first update done", "next answer starts"}
    assert not lock.locked() and lock.ending is None


async def test_cancelling_the_update_cancels_the_end_of_its_call() -> None:
    lock = AnswerLock()
    ended = asyncio.Event()
    cancelled: list[bool] = []

    async def call_end() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)  # llmdoor records the call as partial here
            raise
        finally:
            ended.set()

    async def update() -> None:
        async with holding(lock):
            await end_later(asyncio.create_task(call_end()))

    task = asyncio.create_task(update())
    for _ in range(5):
        await asyncio.sleep(0)
    task.cancel()  # stopping the bot: BOT_SHUTDOWN_GRACE_SECONDS ran out
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled == [True] and ended.is_set()


async def test_outside_holding_the_end_is_waited_for_at_once() -> None:
    done: list[bool] = []

    async def call_end() -> None:
        await asyncio.sleep(0)
        done.append(True)

    await end_later(asyncio.create_task(call_end()))
    assert done == [True]


def test_a_written_answer_is_no_longer_stoppable() -> None:
    answers = RunningAnswers()
    with answers.track(1, 2) as running:
        running.stop.close()  # the model has written it all
        assert answers.stop(1, 2) == 0
        assert answers.stop(1, 2, token=running.token) == 0
        assert not running.stop.is_set()
    with answers.track(1, 2) as running:
        assert answers.stop(1, 2) == 1 and running.stop.is_set()
