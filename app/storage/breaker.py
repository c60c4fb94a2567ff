"""A circuit breaker in front of the database.

Slow is not down. One failed or slow call does not open the breaker: a failure makes it
ask the database at once (one cheap ping, shared by every call failing meanwhile), and it
opens only when that probe fails too, or when ``failure_threshold`` calls failed in a row
within ``failure_window`` seconds. A call still running after ``judge_after`` seconds (the
MONGODB_TIMEOUT_MS budget) is judged the same way: a probe that answers means the database
is alive but busy, so the call gets more time, up to ``call_timeout`` (the per-operation
budget); a probe that fails opens the breaker and ends the call with ``StorageUnavailable``.

While it is open every storage call fails at once with ``StorageUnavailable``, without
touching the network, so an outage costs a chat message nothing instead of one timeout per
call. A background probe (every ``probe_interval`` seconds) closes it again as soon as the
database answers.

Tests (and operators' drills) can simulate an outage on any backend, the in-memory one
included: ``inject_outage()`` makes calls and probes fail as a dead database would, and
``clear_outage()`` lets the next probe close the breaker (``probe_now()`` runs it at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from app.storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")
Probe = Callable[[], Awaitable[object]]

DEFAULT_PROBE_INTERVAL = 2.0  # seconds between probes while the database is down
DEFAULT_PROBE_TIMEOUT = 1.0  # a ping slower than this counts as "still down"
DEFAULT_FAILURE_THRESHOLD = 3  # failures in a row that open the breaker without a probe
DEFAULT_FAILURE_WINDOW = 10.0  # s; failures further apart than this are not "in a row"
VERDICT_TTL = 0.5  # s; a probe that answered this recently speaks for calls judged now


def _consume(task: asyncio.Future[Any]) -> None:
    """Retrieve the outcome of a call nobody awaits any more (no "never retrieved" log)."""
    if not task.cancelled():
        task.exception()


async def _always_up() -> None:
    """The in-memory backend's probe: it is down only while an outage is injected."""


class CircuitBreaker:
    def __init__(
        self,
        probe: Probe = _always_up,
        *,
        probe_interval: float = DEFAULT_PROBE_INTERVAL,
        probe_timeout: float = DEFAULT_PROBE_TIMEOUT,
        name: str = "storage",
        failure_threshold: int = DEFAULT_FAILURE_THRESHOLD,
        failure_window: float = DEFAULT_FAILURE_WINDOW,
        judge_after: float | None = None,
        call_timeout: float | None = None,
    ) -> None:
        self._probe = probe
        self.probe_interval = probe_interval
        self.probe_timeout = probe_timeout
        self.name = name
        self.failure_threshold = max(1, failure_threshold)
        self.failure_window = failure_window
        # A call running longer than this makes the breaker probe (None: never judged).
        self.judge_after = judge_after
        # No call runs longer than this, however alive the database looks (None: no cap).
        self.call_timeout = call_timeout
        self._consecutive = 0
        self._last_failure = 0.0
        self._verdict: asyncio.Task[bool] | None = None
        self._verdict_at = 0.0
        self.last_probe_error: BaseException | None = None
        self._open = False
        self._injected = False
        self._task: asyncio.Task[None] | None = None
        self._closed_event: asyncio.Event | None = None
        self.trips = 0  # how often it opened (for health checks and tests)
        self.rejected = 0  # calls refused while open
        self.failures = 0  # failed calls seen while closed
        self.slow_calls = 0  # calls that outlived ``judge_after`` while the database answered

    # ------------------------------------------------------------------ state

    @property
    def available(self) -> bool:
        """False while the breaker is open (the database is considered down)."""
        return not self._open

    @property
    def outage_injected(self) -> bool:
        return self._injected

    def check(self) -> None:
        """Raise ``StorageUnavailable`` at once when the database is known to be down."""
        if self._injected and not self._open:
            self.record_failure(None)  # what the first call of a real outage would do
        if self._open:
            self.rejected += 1
            raise StorageUnavailable(f"{self.name}: database unavailable (circuit open)")

    def record_success(self) -> None:
        """A call went through: failures before it were not "in a row"."""
        self._consecutive = 0

    async def record_call_failure(self, exc: BaseException) -> None:
        """A call failed for availability reasons: open the breaker when failures repeat
        or when the database does not answer a probe either; otherwise it was one slow or
        unlucky call, and the breaker stays closed."""
        if self._open:
            return
        self.failures += 1
        now = time.monotonic()
        if now - self._last_failure > self.failure_window:
            self._consecutive = 0
        self._consecutive += 1
        self._last_failure = now
        if self._consecutive >= self.failure_threshold:
            self.record_failure(exc, why=f"{self._consecutive} failures in a row")
            return
        if not await self._judge():
            self.record_failure(exc, why="the probe failed too")

    async def watch(self, call: Awaitable[T], what: str) -> T:
        """Await ``call`` under the breaker's judgement: past ``judge_after`` the database
        is probed; alive, the call goes on (up to ``call_timeout``); not answering, the
        breaker opens and the call ends with ``StorageUnavailable``."""
        if self.judge_after is None and self.call_timeout is None:
            return await call
        task = asyncio.ensure_future(call)
        task.add_done_callback(_consume)  # a call given up on may still end in an error
        try:
            judge_after = self.judge_after
            if judge_after is not None and (
                self.call_timeout is None or judge_after < self.call_timeout
            ):
                done, _ = await asyncio.wait({task}, timeout=judge_after)
                if not done:
                    if not await self._judge():
                        # The call is left to end on its own (the driver's timeouts): a
                        # cancel inside PyMongo's server selection can break the client's
                        # lock for good (Python 3.11), and the caller needs no more of it.
                        self.record_failure(None, why=f"{what} stalled and the probe failed")
                        raise StorageUnavailable(
                            f"{what}: database unavailable (stalled, probe failed)"
                        ) from (self.last_probe_error or TimeoutError())
                    if not task.done():
                        self.slow_calls += 1
            remaining = None
            if self.call_timeout is not None:
                remaining = max(0.0, self.call_timeout - (judge_after or 0.0))
            return await asyncio.wait_for(asyncio.shield(task), remaining)
        except asyncio.CancelledError:
            task.cancel()  # the caller is cancelled: so is its call, as without the breaker
            raise

    def record_failure(self, exc: BaseException | None, *, why: str | None = None) -> None:
        """Open the breaker now and start probing."""
        if self._open:
            return
        self._open = True
        self._consecutive = 0
        self.trips += 1
        what = "injected outage" if exc is None and why is None else type(exc).__name__
        if why is not None:
            what = why if exc is None else f"{type(exc).__name__}, {why}"
        log.warning(
            "%s: database unavailable (%s); failing storage calls fast, probing every %.1fs",
            self.name,
            what,
            self.probe_interval,
        )
        self._ensure_probe()

    async def _judge(self) -> bool:
        """One probe for everyone asking at the same time: True when the database answers."""
        loop = asyncio.get_running_loop()
        verdict = self._verdict
        # A probe in flight is shared; an answer is reused briefly; "down" never is (the
        # breaker opened on it, and a later question deserves a new probe).
        reusable = verdict is not None and (
            not verdict.done()
            or (
                not verdict.cancelled()
                and verdict.result()
                and loop.time() - self._verdict_at < VERDICT_TTL
            )
        )
        if verdict is None or not reusable:
            verdict = self._verdict = loop.create_task(self._ping(), name=f"{self.name}-judge")
            verdict.add_done_callback(self._verdict_done)
        return await asyncio.shield(verdict)

    def _verdict_done(self, _task: asyncio.Task[bool]) -> None:
        self._verdict_at = asyncio.get_running_loop().time()

    # ------------------------------------------------------------------ outage drills

    def inject_outage(self) -> None:
        """Behave as if the database went down: calls fail, probes fail, until cleared."""
        self._injected = True

    def clear_outage(self) -> None:
        """End an injected outage; the next probe closes the breaker."""
        self._injected = False

    # ------------------------------------------------------------------ probing

    async def probe_now(self) -> bool:
        """Ping once; close the breaker when the database answers. Returns ``available``."""
        if await self._ping():
            self._close()
        return self.available

    async def wait_available(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Wait until the breaker is closed (or ``timeout`` passes); returns ``available``."""
        if self.available:
            return True
        event = self._event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)
        return self.available

    async def aclose(self) -> None:
        """Stop the probe task (idempotent); the state is kept."""
        verdict, self._verdict = self._verdict, None
        if verdict is not None and not verdict.done():
            verdict.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await verdict
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _event(self) -> asyncio.Event:
        if self._closed_event is None:
            self._closed_event = asyncio.Event()
        return self._closed_event

    def _close(self) -> None:
        if not self._open:
            return
        self._open = False
        log.info("%s: database answers again; storage calls resume", self.name)
        if self._closed_event is not None:
            self._closed_event.set()
            self._closed_event = None

    def _ensure_probe(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (sync caller): probe_now() or the next async failure starts it
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._probe_loop(), name=f"{self.name}-probe")

    async def _probe_loop(self) -> None:
        while self._open:
            await asyncio.sleep(self.probe_interval)
            if await self._ping():
                self._close()

    async def _ping(self) -> bool:
        if self._injected:
            return False
        try:
            await asyncio.wait_for(self._probe(), self.probe_timeout)
        except (StorageUnavailable, TimeoutError) as exc:
            # What a call judged by this probe reports as its cause (the driver's error).
            self.last_probe_error = exc.__cause__ or exc
            return False
        except Exception:  # the outermost loop of a task that must survive anything
            # An unexpected probe error keeps the breaker open, and says so.
            log.exception("%s: the database probe failed unexpectedly", self.name)
            return False
        return True
