"""Run the async implementation from sync code.

Normally on a private event loop owned by the calling thread (kept for reuse): no thread
hop. Called from inside a running loop that is impossible, so the call goes to one
long-lived background loop instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

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


def _step(awaitable: Awaitable[T], direct: bool) -> T:
    async def wrapped() -> T:
        return await awaitable

    if direct:
        return _thread_loop().run_until_complete(wrapped())
    return asyncio.run_coroutine_threadsafe(wrapped(), _background_loop()).result()


def run(coro: Coroutine[Any, Any, T], direct: bool) -> T:
    if direct:
        return _thread_loop().run_until_complete(coro)
    return asyncio.run_coroutine_threadsafe(coro, _background_loop()).result()


def iterate(agen: AsyncIterator[T], direct: bool) -> Iterator[T]:
    """A plain generator over an async generator."""
    finished = False
    try:
        while True:
            try:
                item: T = _step(agen.__anext__(), direct)
            except StopAsyncIteration:
                finished = True
                return
            yield item
    finally:
        aclose = getattr(agen, "aclose", None)
        if not finished and aclose is not None:
            # The consumer stopped early: let the async side record usage, settle the
            # budget and release the connection.
            _step(aclose(), direct)
