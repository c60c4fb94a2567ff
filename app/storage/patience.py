"""Writes that matter wait for a slow or briefly unavailable database (back-pressure)
instead of failing at the first error."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from app.storage.breaker import CircuitBreaker
from app.storage.errors import StorageUnavailable

T = TypeVar("T")

#: How long a write that matters (a /new) waits for the database before the user hears
#: that it is unavailable.
DEFAULT_PATIENCE = 5.0
RETRY_INITIAL = 0.1
RETRY_MAX = 1.0


async def patiently(
    breaker: CircuitBreaker,
    call: Callable[[], Awaitable[T]],
    *,
    patience: float | None = None,
) -> T:
    """``call()``, tried again while it fails with ``StorageUnavailable`` for up to
    ``patience`` seconds (``DEFAULT_PATIENCE``): after a backoff while the breaker is
    closed (a transient error), or as soon as the breaker's probe sees the database back
    while it is open. The last ``StorageUnavailable`` goes on to the caller."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (DEFAULT_PATIENCE if patience is None else patience)
    delay = RETRY_INITIAL
    while True:
        try:
            return await call()
        except StorageUnavailable:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise
            if breaker.available:
                await asyncio.sleep(min(delay, remaining))
                delay = min(delay * 2, RETRY_MAX)
            elif not await breaker.wait_available(remaining):
                raise
