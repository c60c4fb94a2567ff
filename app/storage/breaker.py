"""A circuit breaker in front of the database.

The first availability failure opens it ("the database is down"). While it is open every
storage call fails at once with ``StorageUnavailable``, without touching the network, so an
outage costs a chat message nothing instead of one server-selection timeout per call. A
background probe (a cheap ping, every ``probe_interval`` seconds) closes it again as soon as
the database answers.

Tests (and operators' drills) can simulate an outage on any backend, the in-memory one
included: ``inject_outage()`` makes calls and probes fail as a dead database would, and
``clear_outage()`` lets the next probe close the breaker (``probe_now()`` runs it at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from app.storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

Probe = Callable[[], Awaitable[object]]

DEFAULT_PROBE_INTERVAL = 2.0  # seconds between probes while the database is down
DEFAULT_PROBE_TIMEOUT = 1.0  # a ping slower than this counts as "still down"


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
    ) -> None:
        self._probe = probe
        self.probe_interval = probe_interval
        self.probe_timeout = probe_timeout
        self.name = name
        self._open = False
        self._injected = False
        self._task: asyncio.Task[None] | None = None
        self._closed_event: asyncio.Event | None = None
        self.trips = 0  # how often it opened (for health checks and tests)
        self.rejected = 0  # calls refused while open

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

    def record_failure(self, exc: BaseException | None) -> None:
        """An availability failure was seen: open the breaker and start probing."""
        if self._open:
            return
        self._open = True
        self.trips += 1
        what = "injected outage" if exc is None else type(exc).__name__
        log.warning(
            "%s: database unavailable (%s); failing storage calls fast, probing every %.1fs",
            self.name,
            what,
            self.probe_interval,
        )
        self._ensure_probe()

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
        except (StorageUnavailable, TimeoutError):
            return False
        except Exception:  # the outermost loop of a task that must survive anything
            # An unexpected probe error keeps the breaker open, and says so.
            log.exception("%s: the database probe failed unexpectedly", self.name)
            return False
        return True
