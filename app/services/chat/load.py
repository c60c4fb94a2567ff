"""Is this process's event loop keeping up? The one CPU signal the bot sheds work by.

The bot runs on one event loop, so CPU is its scarcest resource under load: 200 answers
streaming at once spend it on parsing model chunks, and everything else (a preview, a
title call, the next update) waits in the loop's ready queue. ``LoopLoad`` measures that
queue directly: it schedules a callback with ``call_soon`` and notes how long the loop
took to reach it. A probe runs only when someone asks (no background task), at most every
``max_age`` seconds; a probe still pending for longer than the threshold already says
"busy" before it lands.

Two questions, for two kinds of asker:
- ``busy()``: is the loop saturated right now? The answer gate starts new model streams
  only while it is not.
- ``shedding()``: should optional work wait? Yes while busy, and also while answers wait
  at the gate for their turn (``track_backlog``): the CPU belongs to them then. Previews
  after an answer's first sign of life and conversation titles ask this.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

#: A loop that needs longer than this to reach a new callback is saturated: every handler
#: and every preview is already this late.
DEFAULT_BUSY_LAG = 0.05
#: How old a measurement may be before ``busy`` probes again.
DEFAULT_MAX_AGE = 0.05


class LoopLoad:
    def __init__(
        self,
        busy_lag: float = DEFAULT_BUSY_LAG,
        *,
        max_age: float = DEFAULT_MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.busy_lag = busy_lag
        self.max_age = max_age
        self._clock = clock
        self.lag = 0.0  # the last measured lag, seconds
        self._measured_at = float("-inf")
        self._probe_sent_at: float | None = None
        self._backlogs: list[Callable[[], int]] = []

    def track_backlog(self, waiting: Callable[[], int]) -> None:
        """Count ``waiting()`` (e.g. answers waiting for their turn) as pressure."""
        self._backlogs.append(waiting)

    def shedding(self) -> bool:
        """Whether optional work (previews, titles) should wait: busy, or work in line."""
        return any(waiting() > 0 for waiting in self._backlogs) or self.busy()

    def busy(self) -> bool:
        """Whether the loop is saturated now (from the last probe, or a late pending one)."""
        now = self._clock()
        if self._probe_sent_at is not None:
            if now - self._probe_sent_at > self.busy_lag:
                return True
        elif now - self._measured_at > self.max_age:
            self._probe()
        return self.lag > self.busy_lag

    async def wait_quiet(self, within: float, poll: float = 0.25) -> bool:
        """Wait until nothing is shed, at most ``within`` seconds; True if quiet."""
        deadline = self._clock() + within
        while self.shedding():
            if self._clock() >= deadline:
                return False
            await asyncio.sleep(poll)
        return True

    def _probe(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # outside a loop nothing is measured: never busy
        self._probe_sent_at = self._clock()
        loop.call_soon(self._landed)

    def _landed(self) -> None:
        now = self._clock()
        if self._probe_sent_at is not None:
            self.lag = now - self._probe_sent_at
        self._measured_at = now
        self._probe_sent_at = None


class NeverBusy(LoopLoad):
    """For tests and library use: no shedding."""

    def busy(self) -> bool:
        return False

    def shedding(self) -> bool:
        return False


__all__ = ["DEFAULT_BUSY_LAG", "LoopLoad", "NeverBusy"]
