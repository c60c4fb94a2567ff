"""Shedding work when the event loop is saturated: the loop-lag gauge, the answer gate that
starts model streams in order, previews that yield, and titles that wait."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from app.bot.delivery.priority_limiter import PriorityLimiter, take_spare
from app.services.chat.admission import AnswerGate
from app.services.chat.load import LoopLoad, NeverBusy
from app.services.chat.titles import TitleService


class Switch(LoopLoad):
    """A gauge the test sets by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.on = False

    def busy(self) -> bool:
        return self.on


async def test_a_blocked_loop_reads_busy_and_an_idle_one_does_not() -> None:
    load = LoopLoad(busy_lag=0.02, max_age=0.0)
    assert not load.busy()  # sends a probe
    await asyncio.sleep(0.01)  # the probe lands at once on an idle loop
    assert not load.busy() and load.lag < 0.02

    load.busy()  # a new probe, then the loop is held up (a CPU-bound callback)
    time.sleep(0.05)  # noqa: ASYNC251 - the point: a callback that holds the loop
    assert load.busy(), "a probe pending past the threshold is busy before it lands"
    await asyncio.sleep(0)
    assert load.lag >= 0.05
    assert load.busy()  # the landed measurement says so until the next probe lands
    await asyncio.sleep(0.01)  # that probe lands on an idle loop
    assert not load.busy() and load.lag < 0.02


async def test_wait_quiet_gives_up_after_its_limit() -> None:
    load = Switch()
    load.on = True
    assert not await load.wait_quiet(0.05, poll=0.01)
    load.on = False
    assert await load.wait_quiet(0.05, poll=0.01)


async def test_previews_yield_to_a_busy_loop_but_a_first_sign_of_life_does_not() -> None:
    load = Switch()
    limiter = PriorityLimiter(10, burst_seconds=1.0, load=load)
    assert limiter.has_spare()
    load.on = True
    assert not limiter.has_spare() and not await take_spare(limiter)
    assert limiter.has_spare(first=True) and await take_spare(limiter, first=True)
    # Final messages never look at the gauge.
    await asyncio.wait_for(limiter.acquire(), 0.1)


async def test_gate_starts_the_floor_at_once_then_waits_for_a_quiet_loop_in_order() -> None:
    load = Switch()
    gate = AnswerGate(load, floor=2, starts_per_second=1000, poll=0.005)
    load.on = True
    order: list[int] = []
    release = asyncio.Event()

    async def answer(n: int) -> None:
        async with gate.slot() as admitted:
            assert admitted
            order.append(n)
            await release.wait()

    tasks = [asyncio.create_task(answer(n)) for n in range(5)]
    await asyncio.sleep(0.05)
    assert order == [0, 1] and gate.running == 2 and gate.waiting == 3
    load.on = False
    await asyncio.sleep(0.05)
    assert order == [0, 1, 2, 3, 4], "a quiet loop lets the rest in, first come first served"
    release.set()
    await asyncio.gather(*tasks)
    assert gate.running == 0 and gate.waiting == 0


async def test_gate_hands_a_place_on_when_an_answer_ends() -> None:
    load = Switch()
    load.on = True  # busy for good: only the floor runs
    gate = AnswerGate(load, floor=1, poll=0.005)
    done = asyncio.Event()
    started: list[int] = []

    async def answer(n: int, hold: asyncio.Event | None) -> None:
        async with gate.slot():
            started.append(n)
            if hold is not None:
                await hold.wait()

    first = asyncio.create_task(answer(0, done))
    second = asyncio.create_task(answer(1, None))
    await asyncio.sleep(0.03)
    assert started == [0]
    done.set()
    await asyncio.wait_for(asyncio.gather(first, second), 1)
    assert started == [0, 1] and gate.running == 0


async def test_starts_are_paced_above_the_floor() -> None:
    gate = AnswerGate(NeverBusy(), floor=1, starts_per_second=50, poll=0.002)
    hold = asyncio.Event()
    all_started = asyncio.Event()
    times: list[float] = []

    async def answer() -> None:
        async with gate.slot():
            times.append(time.monotonic())
            if len(times) == 4:
                all_started.set()
            await hold.wait()

    tasks = [asyncio.create_task(answer()) for _ in range(4)]
    await asyncio.wait_for(all_started.wait(), 2)
    gaps = [b - a for a, b in itertools.pairwise(times[1:])]
    assert all(gap >= 0.015 for gap in gaps), gaps  # 1/50 s apart (less timer slack)
    hold.set()
    await asyncio.gather(*tasks)


async def test_a_stop_while_waiting_gives_no_place_and_loses_none() -> None:
    load = Switch()
    load.on = True
    gate = AnswerGate(load, floor=1, poll=0.005)
    hold = asyncio.Event()
    stop = asyncio.Event()
    outcome: list[bool] = []

    async def running() -> None:
        async with gate.slot():
            await hold.wait()

    async def waiting() -> None:
        async with gate.slot(stop) as admitted:
            outcome.append(admitted)

    first = asyncio.create_task(running())
    second = asyncio.create_task(waiting())
    await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(second, 1)
    assert outcome == [False] and gate.waiting == 0 and gate.running == 1
    hold.set()
    await first
    assert gate.running == 0


async def test_a_cancelled_waiter_leaves_the_line() -> None:
    load = Switch()
    load.on = True
    gate = AnswerGate(load, floor=1, poll=0.005)
    hold = asyncio.Event()

    async def answer() -> None:
        async with gate.slot():
            await hold.wait()

    first = asyncio.create_task(answer())
    second = asyncio.create_task(answer())
    await asyncio.sleep(0.02)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
    assert gate.waiting == 0
    hold.set()
    await first
    assert gate.running == 0


async def test_titles_wait_for_a_quiet_loop() -> None:
    load = Switch()
    load.on = True
    asked: list[str] = []

    class Llm:
        async def aquery_llm(self, prompt: str, model: str, **_: object) -> str:
            asked.append(model)
            return "A title"

    class Conversations:
        async def replace_title(self, cid: str, old: str | None, new: str) -> bool:
            return True

    class Storage:
        conversations = Conversations()

    titles = TitleService(Storage(), Llm(), load=load)  # type: ignore[arg-type]
    await titles.after_first_exchange("c1", "hello", "hi", "m", caller=None)  # type: ignore[arg-type]
    await asyncio.sleep(0.3)
    assert asked == [], "no title call while the loop is saturated"
    load.on = False
    await asyncio.wait_for(titles.drain(), 2)
    assert asked == ["m"]


async def test_answers_waiting_their_turn_shed_previews_but_do_not_stop_the_gate() -> None:
    load = LoopLoad(busy_lag=10.0)  # never busy by lag in this test
    gate = AnswerGate(load, floor=1, starts_per_second=1000, poll=0.005)
    load.track_backlog(lambda: gate.waiting)
    limiter = PriorityLimiter(10, burst_seconds=1.0, load=load)
    assert not load.shedding() and limiter.has_spare()
    gate._waiters.append(asyncio.get_running_loop().create_future())  # one answer in line
    assert load.shedding() and not load.busy()
    assert not limiter.has_spare(), "no preview while an answer waits for its turn"
    assert limiter.has_spare(first=True), "a first sign of life still goes"
    gate._waiters.clear()
    assert not load.shedding() and limiter.has_spare()
