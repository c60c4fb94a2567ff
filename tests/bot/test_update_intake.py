"""app.bot.middlewares.intake: updates take their first steps in arrival order, ``width``
at a time; a place is handed on by leave_intake(), when the update is done, or after
``hold`` seconds (waiting for I/O never holds the line)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.types import TelegramObject

from app.bot.middlewares.intake import UpdateIntake, leave_intake

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def update(n: int) -> TelegramObject:
    return TelegramObject.model_construct(n=n)  # type: ignore[call-arg]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_burst_enters_in_arrival_order_width_at_a_time() -> None:
    intake = UpdateIntake(width=2, hold=30)
    entered: list[int] = []
    go_on = {n: asyncio.Event() for n in range(5)}

    async def handler(event: TelegramObject, data: dict[str, Any]) -> None:
        entered.append(data["n"])
        await go_on[data["n"]].wait()  # its quick part: it has not left the intake

    tasks = [asyncio.create_task(intake(handler, update(n), {"n": n})) for n in range(5)]
    await settle()
    assert entered == [0, 1] and intake.inside == 2 and intake.waited == 3
    go_on[1].set()  # done: its place goes to the next in line
    await settle()
    assert entered == [0, 1, 2]
    for n in (0, 2, 3, 4):
        go_on[n].set()
    await asyncio.gather(*tasks)
    assert entered == [0, 1, 2, 3, 4] and intake.inside == 0


async def test_leaving_hands_the_place_on_while_the_update_goes_on() -> None:
    intake = UpdateIntake(width=1, hold=30)
    entered: list[int] = []
    finish = asyncio.Event()

    async def handler(event: TelegramObject, data: dict[str, Any]) -> None:
        entered.append(data["n"])
        leave_intake()
        leave_intake()  # twice is once
        await finish.wait()  # e.g. its answer streaming

    tasks = [asyncio.create_task(intake(handler, update(n), {"n": n})) for n in range(4)]
    await settle()
    assert entered == [0, 1, 2, 3] and intake.inside == 0
    finish.set()
    await asyncio.gather(*tasks)
    assert intake.inside == 0


async def test_an_update_waiting_for_io_holds_its_place_only_for_hold_seconds() -> None:
    intake = UpdateIntake(width=1, hold=0.05)
    entered: list[int] = []
    database = asyncio.Event()

    async def handler(event: TelegramObject, data: dict[str, Any]) -> None:
        entered.append(data["n"])
        await database.wait()  # a slow storage call, never leaving by itself

    tasks = [asyncio.create_task(intake(handler, update(n), {"n": n})) for n in range(3)]
    await settle()
    assert entered == [0]
    for _ in range(100):
        if len(entered) == 3:
            break
        await asyncio.sleep(0.02)
    assert entered == [0, 1, 2]  # each let the next in after its hold, all still waiting
    database.set()
    await asyncio.gather(*tasks)
    assert intake.inside == 0


async def test_a_cancelled_waiter_loses_no_place() -> None:
    intake = UpdateIntake(width=1, hold=30)
    entered: list[int] = []
    release = asyncio.Event()

    async def handler(event: TelegramObject, data: dict[str, Any]) -> None:
        entered.append(data["n"])
        await release.wait()

    first = asyncio.create_task(intake(handler, update(0), {"n": 0}))
    waiting = asyncio.create_task(intake(handler, update(1), {"n": 1}))
    last = asyncio.create_task(intake(handler, update(2), {"n": 2}))
    await settle()
    waiting.cancel()
    await settle()
    release.set()
    await asyncio.gather(first, last)
    assert waiting.cancelled() and entered == [0, 2] and intake.inside == 0


async def test_a_failing_update_hands_its_place_on() -> None:
    intake = UpdateIntake(width=1, hold=30)

    async def broken(event: TelegramObject, data: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    async def fine(event: TelegramObject, data: dict[str, Any]) -> str:
        return "ok"

    failing = asyncio.create_task(intake(broken, update(0), {}))
    after = asyncio.create_task(intake(fine, update(1), {}))
    results = await asyncio.gather(failing, after, return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and results[1] == "ok"
    assert intake.inside == 0


def test_leave_intake_outside_the_intake_does_nothing() -> None:
    leave_intake()  # library use, tests: no intake, no error


async def test_ready_io_runs_between_turns_of_a_burst() -> None:
    # Updates that never wait (in-memory storage) leave within the turn they entered; a
    # whole batch would then run back to back while a request already on its way (the
    # next getUpdates, a model chunk) waited behind it.
    intake = UpdateIntake(width=2, hold=30)
    entered: list[int] = []
    io_saw: list[int] = []

    async def handler(event: TelegramObject, data: dict[str, Any]) -> None:
        entered.append(data["n"])
        leave_intake()  # its answer started: the place is free again at once

    tasks = [asyncio.create_task(intake(handler, update(n), {"n": n})) for n in range(10)]
    loop = asyncio.get_running_loop()
    loop.call_soon(lambda: io_saw.append(len(entered)))  # I/O that became ready meanwhile
    await asyncio.gather(*tasks)
    assert io_saw == [2]  # one turn's worth of updates went before it, not all ten
    assert entered == list(range(10)) and intake.inside == 0
