"""The bot-wide send budget with priorities: final answers first, cosmetics from what is left.

Telegram allows about 30 messages a second per bot. Under load every call a preview spends
(typing, a draft, an edit) is one a final answer waits for, so previews may only use budget
that would otherwise go unused:

- a *final* call (the answer itself, an error, a command reply made by the streamer) waits
  for capacity in arrival order, exactly like ``aiolimiter.AsyncLimiter``;
- a *spare* call (typing, a draft, a preview edit) never waits: it is taken only when no
  final is waiting and the bucket stays below ``spare_share`` of its burst. The rest of the
  burst is kept for finals, so a wave of answers finishing together is not slowed down by
  the previews shown while they streamed. An answer's *first* sign of life (typing, its
  first preview) may fill ``first_share`` of the burst: it is worth more than an update;
- a *tidy* call (taking the buttons off an older answer) waits until spare budget exists;
- an answer that found no spare budget for its "typing…" queues for it
  (:meth:`PriorityLimiter.first_sign_turn`): the queue is served in arrival order from spare
  budget as soon as it exists, finals still first, and no other preview is shown while
  anybody waits in it. So those beyond the burst see "typing…" as soon as the budget
  allows, instead of nothing until their answer's text comes.

Spare budget also needs spare CPU: while the event loop is saturated or answers wait for
their turn (:class:`app.services.chat.load.LoopLoad`) only an answer's first sign of life is
shown, since every later preview would be paid for by the answers still to be read.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from aiolimiter import AsyncLimiter

from app.bot.delivery.send_budget import AdaptiveLimiter
from app.services.chat.load import LoopLoad, NeverBusy

__all__ = [
    "PriorityLimiter",
    "make_bot_limiter",
    "spare_available",
    "take_spare",
    "wait_spare",
]

#: Share of the burst previews may fill; the remaining 80 % is there for final messages.
DEFAULT_SPARE_SHARE = 0.2
#: Share an answer's first sign of life (typing, its first preview) may fill: all of it,
#: as long as no final waits (finals that arrive later are still served first).
DEFAULT_FIRST_SHARE = 1.0
#: The burst, in seconds of budget. Telegram counts calls as they *arrive*; a busy event
#: loop sends calls it was granted over a second in a clump, so a full second's burst
#: on top of that would overrun Telegram's own bucket.
DEFAULT_BURST_SECONDS = 0.5


class PriorityLimiter(AdaptiveLimiter):
    """An :class:`AdaptiveLimiter` whose ``acquire`` is for final messages and whose
    ``try_acquire_spare`` is for previews."""

    def __init__(
        self,
        rate_per_second: float,
        *,
        spare_share: float = DEFAULT_SPARE_SHARE,
        first_share: float = DEFAULT_FIRST_SHARE,
        burst_seconds: float = DEFAULT_BURST_SECONDS,
        load: LoopLoad | None = None,
    ) -> None:
        super().__init__(rate_per_second)
        self.load = load or NeverBusy()
        # aiolimiter: ``max_rate`` per ``time_period`` is both the rate and the burst.
        self.time_period = burst_seconds
        self.max_rate = rate_per_second * burst_seconds
        self._rate_per_sec = rate_per_second
        self.spare_share = spare_share
        self.first_share = first_share
        self.spare_taken = 0  # counters for benchmarks and logs
        self.spare_refused = 0
        self._finals_in_line = 0
        self._first_waiters: deque[asyncio.Future[None]] = deque()
        self._first_timer: asyncio.TimerHandle | None = None

    @property
    def rate(self) -> float:
        return self._rate_per_sec

    def set_rate(self, rate_per_second: float) -> None:
        if rate_per_second == self._rate_per_sec:
            return
        self._leak()  # settle the level at the old rate first
        self.max_rate = rate_per_second * self.time_period
        self._rate_per_sec = rate_per_second
        # The timers of waiting finals and first signs were set at the old rate.
        self._wake_next()
        self._serve_first_signs()

    async def acquire(self, amount: float = 1) -> None:
        """Capacity for a final call, in arrival order."""
        self._finals_in_line += 1
        try:
            await super().acquire(amount)
        finally:
            self._finals_in_line -= 1

    def finals_waiting(self) -> int:
        # Counted until the unit is taken: a final woken for a unit that leaked but not yet
        # run on still owns it, so nothing spare may take it in between.
        return self._finals_in_line

    def has_spare(self, *, first: bool = False) -> bool:
        """Whether a preview could go now (a cheap check before rendering one)."""
        if self.first_signs_waiting():
            return False  # they are served first, in their order
        return self._room(first=first) and (first or not self.load.shedding())

    def _ceiling(self, *, first: bool) -> float:
        """How full the bucket may get with previews (first signs may take more)."""
        return max(1.0, self.max_rate * (self.first_share if first else self.spare_share))

    def _room(self, *, first: bool) -> bool:
        self._leak()
        return not self.finals_waiting() and self._level + 1 <= self._ceiling(first=first)

    def try_acquire_spare(self, *, first: bool = False) -> bool:
        """Take one unit for a preview if that cannot delay any final message."""
        if not self.has_spare(first=first):
            self.spare_refused += 1
            return False
        self._level += 1
        self.spare_taken += 1
        return True

    # -- first signs of life, in arrival order -------------------------------------------

    def first_signs_waiting(self) -> bool:
        waiters = self._first_waiters
        while waiters and waiters[0].done():  # given up (cancelled) or already served
            waiters.popleft()
        return bool(waiters)

    async def first_sign_turn(self) -> None:
        """Wait, in arrival order, for one unit of spare budget for an answer's first sign
        of life, and take it. Finals waiting still go first. A caller cancelled after its
        turn came gives the unit back."""
        turn: asyncio.Future[None] = self._loop.create_future()
        self._first_waiters.append(turn)
        self._serve_first_signs()
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.give_back()
            raise

    def give_back(self) -> None:
        """Return a unit taken for a first sign that turned out not to be needed."""
        self._leak()
        self._level = max(0.0, self._level - 1)
        self.spare_taken -= 1
        self._wake_next()  # a final may be waiting for exactly this unit
        self._serve_first_signs()

    def _serve_first_signs(self) -> None:
        if self._first_timer is not None:
            self._first_timer.cancel()
            self._first_timer = None
        while self.first_signs_waiting():
            if not self._room(first=True):
                break
            self._level += 1
            self.spare_taken += 1
            self._first_waiters.popleft().set_result(None)
        else:
            return
        # Finals waiting: look again once one of them could have gone; else when the bucket
        # has leaked the unit that is missing.
        missing = self._level + 1 - self._ceiling(first=True)
        delay = max(missing, 1.0 if self.finals_waiting() else 0.0) / self._rate_per_sec
        self._first_timer = self._loop.call_later(delay, self._serve_first_signs)


def spare_available(limiter: AsyncLimiter, *, first: bool = False) -> bool:
    if isinstance(limiter, PriorityLimiter):
        return limiter.has_spare(first=first)
    return limiter.has_capacity()


async def take_spare(limiter: AsyncLimiter, *, first: bool = False) -> bool:
    """One unit of spare budget, never waiting. A plain ``AsyncLimiter`` (tests, library
    use) has no priorities: any free capacity counts as spare there."""
    if isinstance(limiter, PriorityLimiter):
        return limiter.try_acquire_spare(first=first)
    if not limiter.has_capacity():
        return False
    await limiter.acquire()  # returns at once: the capacity is there
    return True


async def wait_spare(limiter: AsyncLimiter, within: float, poll: float = 0.1) -> bool:
    """Wait (polling) until spare budget exists, at most ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        if await take_spare(limiter):
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(poll)


def make_bot_limiter(
    rate_per_second: float = 25.0, load: LoopLoad | None = None
) -> PriorityLimiter:
    """One limiter per Bot, shared by all its streamers (Telegram allows ~30 msg/s per bot).
    Its rate follows this instance's share of the bot-wide budget (app.bot.delivery.send_budget)."""
    return PriorityLimiter(rate_per_second, load=load)
