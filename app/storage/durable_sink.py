"""A UsageSink that never loses a record silently.

The happy path writes straight to the repository. When a write fails (``StorageUnavailable``
or a timeout), the record goes to a bounded in-process buffer, and a background task
retries in batches, oldest first: with exponential backoff, and at once when the circuit
breaker sees the database back. A write that fails for another reason (a bug) is kept in the
buffer too, and the error goes on to the caller. Every record carries its id from
the first attempt, so a write that timed out but did land is not stored twice on retry.
Only when the buffer is full is the oldest record dropped, and each drop is counted and
logged at ERROR.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from bson import ObjectId

from app.storage.base import UsageRecord, UsageRepository
from app.storage.breaker import CircuitBreaker
from app.storage.draining import until_empty
from app.storage.errors import StorageUnavailable
from llmdoor import UsageEvent

log = logging.getLogger(__name__)


def to_record(event: UsageEvent) -> UsageRecord:
    if isinstance(event, UsageRecord):
        return event
    return UsageRecord(**event.model_dump(), id=str(ObjectId()))


class DurableUsageSink:
    def __init__(
        self,
        repository: UsageRepository,
        *,
        max_buffer: int = 100_000,
        batch_size: int = 500,
        write_timeout: float = 5.0,
        retry_initial: float = 0.2,
        retry_max: float = 30.0,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._repo = repository
        self._breaker = breaker
        self._max_buffer = max_buffer
        self._batch_size = batch_size
        self._write_timeout = write_timeout
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._buffer: deque[UsageRecord] = deque()
        self._inflight: list[UsageRecord] = []
        self._task: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        self._closed = False
        self._written = 0
        self._dropped = 0
        self._failures = 0

    # ------------------------------------------------------------------ counters

    @property
    def buffered(self) -> int:
        """Records accepted but not yet stored."""
        return len(self._buffer) + len(self._inflight)

    @property
    def written(self) -> int:
        return self._written

    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def failures(self) -> int:
        """Failed write attempts so far (direct writes and retries)."""
        return self._failures

    # ------------------------------------------------------------------ UsageSink

    async def record(self, event: UsageEvent) -> None:
        rec = to_record(event)
        if self._closed:
            # After close nothing retries any more; try once, and say so if it fails.
            try:
                await asyncio.wait_for(self._repo.add(rec), self._write_timeout)
                self._written += 1
            except (StorageUnavailable, TimeoutError) as exc:
                self._dropped += 1
                log.error("usage record %s lost: sink already closed (%s)", rec.id, _describe(exc))
            return
        if self.buffered:
            # Keep order and don't pile a timeout onto every call while the database is down.
            self._enqueue([rec])
            return
        try:
            await asyncio.wait_for(self._repo.add(rec), self._write_timeout)
        except asyncio.CancelledError:
            # The caller is being cancelled (shutdown, a timeout around the model call):
            # keep the record for the retry task (ids make a landed write idempotent).
            self._enqueue([rec])
            raise
        except (StorageUnavailable, TimeoutError) as exc:
            self._failures += 1
            log.warning("usage write failed (%s); buffering for retry", _describe(exc))
            self._enqueue([rec])
        except Exception:  # not an outage but a bug, of any type: kept, and raised again
            # Keep the record for the retry task, and let the caller see the error.
            self._failures += 1
            self._enqueue([rec])
            raise
        else:
            self._written += 1

    # ------------------------------------------------------------------ shutdown

    async def flush(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Try to store everything buffered now; True when the buffer is empty."""
        if not self.buffered:
            return True
        self._ensure_task()
        self._wakeup.set()
        return await until_empty(lambda: bool(self.buffered), timeout, poll=0.01)

    async def close(self, timeout: float | None = 10.0) -> None:  # noqa: ASYNC109
        """Flush (bounded by ``timeout``), then stop the retry task. Idempotent."""
        if self._closed:
            return
        flushed = await self.flush(timeout)
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if not flushed:
            lost = self.buffered
            self._dropped += lost
            log.error("usage sink closed with %d record(s) unwritten: they are lost", lost)
            self._buffer.clear()
            self._inflight.clear()

    # ------------------------------------------------------------------ internals

    def _enqueue(self, records: list[UsageRecord], *, front: bool = False) -> None:
        if front:
            self._buffer.extendleft(reversed(records))
        else:
            self._buffer.extend(records)
        overflow = self.buffered - self._max_buffer
        if overflow > 0:
            for _ in range(min(overflow, len(self._buffer))):
                self._buffer.popleft()
            self._dropped += overflow
            log.error(
                "usage buffer full (%d): dropped %d oldest record(s), %d dropped in total",
                self._max_buffer,
                overflow,
                self._dropped,
            )
        self._ensure_task()
        self._wakeup.set()

    def _ensure_task(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._retry_loop(), name="usage-sink-retry"
            )

    async def _retry_loop(self) -> None:
        delay = self._retry_initial
        while True:
            if not self._buffer:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            n = min(self._batch_size, len(self._buffer))
            self._inflight = [self._buffer.popleft() for _ in range(n)]
            try:
                await asyncio.wait_for(self._repo.add_many(self._inflight), self._write_timeout)
            except asyncio.CancelledError:
                self._buffer.extendleft(reversed(self._inflight))
                self._inflight = []
                raise
            except (StorageUnavailable, TimeoutError) as exc:
                await self._retry_later(exc, delay, bug=False)
                delay = min(delay * 2, self._retry_max)
            except Exception as exc:  # the outermost loop of a task that must survive anything
                # Keep the batch and retry, but log the bug loudly.
                await self._retry_later(exc, delay, bug=True)
                delay = min(delay * 2, self._retry_max)
            else:
                self._written += len(self._inflight)
                self._inflight = []
                if delay != self._retry_initial:
                    log.info("usage writes recovered; %d still buffered", self.buffered)
                delay = self._retry_initial

    async def _retry_later(self, exc: BaseException, delay: float, *, bug: bool) -> None:
        self._failures += 1
        batch, self._inflight = self._inflight, []
        self._enqueue(batch, front=True)
        log.log(
            logging.ERROR if bug else logging.WARNING,
            "usage retry failed (%s); %d buffered, next try in %.1fs",
            _describe(exc),
            self.buffered,
            delay,
            exc_info=exc if bug else None,
        )
        if self._breaker is not None and not self._breaker.available:
            # Down: new records must not trigger retries that fail at once; wait for the
            # breaker's probe to see the database back (or the backoff to run out).
            await self._breaker.wait_available(delay)
            return
        # Sleep, but let flush() cut the wait short.
        self._wakeup.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), delay)


def _describe(exc: BaseException) -> str:
    # Exception text from pymongo can echo the host list, never credentials; keep it short.
    return f"{type(exc).__name__}: {str(exc)[:200]}"
