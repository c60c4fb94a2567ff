"""How a request reaches litellm: its async client, or its sync client for the sync twins.

The sync twins run the same async pipeline (policies and sinks are async) but send the
request with litellm's *sync* client: litellm keeps one global logging worker bound to
one event loop, and driving its async client from a second loop makes that worker hop
loops (and lose log tasks) whenever sync and async calls are mixed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, Protocol, TypeVar

from llmdoor import sync as _sync
from llmdoor.runtime import _litellm

T = TypeVar("T")
_END = object()


class Transport(Protocol):
    async def complete(self, kwargs: dict[str, Any]) -> Any:
        """litellm's response (a stream object when kwargs ask for one)."""
        ...

    def chunks(self, response: Any) -> AsyncIterator[Any]:
        """The chunks of a streamed response."""
        ...


class AsyncTransport:
    """litellm's async client on the caller's loop."""

    async def complete(self, kwargs: dict[str, Any]) -> Any:
        return await _litellm().acompletion(**kwargs)

    async def chunks(self, response: Any) -> AsyncIterator[Any]:
        async for chunk in response:
            yield chunk


class SyncTransport:
    """litellm's sync client, for the sync twins; also drives the async pipeline.

    Called from a thread without a running loop (``direct``), the pipeline runs on that
    thread's private loop and the request blocks only it. Called from inside a running
    loop (Jupyter, a sync helper used by async code), the pipeline runs on one shared
    background loop, so the blocking request goes to a worker thread instead."""

    def __init__(self, direct: bool) -> None:
        self.direct = direct

    async def complete(self, kwargs: dict[str, Any]) -> Any:
        lit = _litellm()
        if self.direct:
            return lit.completion(**kwargs)
        return await asyncio.to_thread(lit.completion, **kwargs)

    async def chunks(self, response: Any) -> AsyncIterator[Any]:
        iterator = iter(response)
        try:
            if self.direct:
                for chunk in iterator:
                    yield chunk
                return
            while (chunk := await asyncio.to_thread(next, iterator, _END)) is not _END:
                yield chunk
        finally:
            # Release the HTTP response now, on our terms. Left to the garbage collector,
            # the sync stream closes itself at a random moment, possibly inside httpx's
            # pool lock on another request of the same thread, which then deadlocks.
            close = getattr(getattr(response, "completion_stream", None), "close", None)
            if callable(close):
                if self.direct:
                    close()
                else:
                    await asyncio.to_thread(close)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return _sync.run(coro, self.direct)

    def iterate(self, agen: AsyncIterator[T]) -> Iterator[T]:
        return _sync.iterate(agen, self.direct)


ASYNC = AsyncTransport()


def sync_transport() -> SyncTransport:
    """The sync transport for a call made from this thread, right now."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return SyncTransport(direct=True)
    return SyncTransport(direct=False)
