"""Run the async implementation from sync code.

Normally on a private event loop owned by the calling thread (kept for reuse): no thread
hop, and the request itself is sent with litellm's sync client. Called from inside a
running loop (Jupyter, a sync helper used by async code) that is impossible, so the call
goes to one long-lived background loop instead, with the request sent from a worker
thread so that loop is never blocked.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, Literal, TypeVar

T = TypeVar("T")
Transport = Literal["direct", "thread"]

_local = threading.local()
_lock = threading.Lock()
_background: asyncio.AbstractEventLoop | None = None


def _thread_loop() -> asyncio.AbstractEventLoop:
    loop: asyncio.AbstractEventLoop | None = getattr(_local, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _local.loop = loop
    return loop


def _background_loop() -> asyncio.AbstractEventLoop:
    global _background
    with _lock:
        if _background is None or _background.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="app-llm-sync", daemon=True)
            thread.start()
            _background = loop
        return _background


def transport() -> Transport:
    """How a sync twin called from this thread, right now, must send its request."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return "direct"
    return "thread"


def run_sync(coro: Coroutine[Any, Any, T], mode: Transport) -> T:
    if mode == "direct":
        return _thread_loop().run_until_complete(coro)
    return asyncio.run_coroutine_threadsafe(coro, _background_loop()).result()


def iterate_sync(agen: AsyncIterator[T], mode: Transport) -> Iterator[T]:
    """A plain generator over an async generator."""

    def step(awaitable: Any) -> Any:
        if mode == "direct":
            return _thread_loop().run_until_complete(awaitable)
        return asyncio.run_coroutine_threadsafe(awaitable, _background_loop()).result()

    finished = False
    try:
        while True:
            try:
                item: T = step(agen.__anext__())
            except StopAsyncIteration:
                finished = True
                return
            yield item
    finally:
        aclose = getattr(agen, "aclose", None)
        if not finished and aclose is not None:
            # The consumer stopped early: let the async side record usage and release the
            # connection.
            step(aclose())
