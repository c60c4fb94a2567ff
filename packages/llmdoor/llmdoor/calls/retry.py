"""The one retry policy of every model call, on tenacity.

An error is tried again only when it says so (``LLMError.retryable``), at most
``max_retries`` times, with jittered exponential backoff or the provider's Retry-After,
whichever is longer. A provider asking for a longer pause than ``retry_after_cap`` is not
waited for: the caller gets the RateLimited error (with ``retry_after``) at once.
Streams use the same policy for the part before the first token; what happens after it
is never retried (the text is already on the user's screen).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from llmdoor.errors import LLMError, RateLimited
from llmdoor.settings import LLMSettings

if TYPE_CHECKING:
    from tenacity import RetryCallState

T = TypeVar("T")


class RetryPolicy:
    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings

    def should_retry(self, exc: BaseException) -> bool:
        if not isinstance(exc, LLMError) or not exc.retryable:
            return False
        # Waiting longer than we are willing to hold a user for: fail now and let the
        # caller show "try again in N s".
        return not (
            isinstance(exc, RateLimited)
            and exc.retry_after is not None
            and exc.retry_after > self.settings.retry_after_cap
        )

    def delay(self, exc: BaseException | None, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        s = self.settings
        backoff = min(s.backoff_max, s.backoff_initial * 2 ** (attempt - 1))
        backoff *= random.uniform(0.8, 1.2)  # jitter so concurrent callers do not stampede
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return max(backoff, min(exc.retry_after, s.retry_after_cap))
        return backoff

    async def run(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Await ``attempt()`` until it succeeds or the policy gives up; the last error
        is raised as is. ``attempt`` must raise typed LLMErrors for the policy to see."""
        # The first attempt runs bare: nearly every call succeeds at once, and tenacity's
        # bookkeeping (~70 µs a call) is only worth paying once there is something to retry.
        try:
            return await attempt()
        except LLMError as exc:
            if self.settings.max_retries < 1 or not self.should_retry(exc):
                raise
            first = exc
        await asyncio.sleep(self.delay(first, 1))
        return await self._again(attempt)

    async def _again(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Attempts 2 and on, after the first failed and was waited for."""
        # Imported here: it costs ~15 ms, and `import llmdoor` stays fast.
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome is not None else None
            return self.delay(exc, state.attempt_number + 1)

        async def once() -> T:  # a coroutine function, which tenacity awaits (a lambda is not)
            return await attempt()

        retrying = AsyncRetrying(
            retry=retry_if_exception(self.should_retry),
            stop=stop_after_attempt(self.settings.max_retries),
            wait=wait,
            reraise=True,
        )
        return await retrying(once)
