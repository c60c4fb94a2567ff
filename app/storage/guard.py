"""Every repository call goes through one guard: the breaker first, then the driver's
availability errors turned into ``StorageUnavailable``.

``guard(repo, breaker)`` returns a proxy with the same public async methods (coroutines and
async generators) as ``repo``. Built once per repository class, with real class attributes,
so ``isinstance(proxy, SomeRepositoryProtocol)`` still holds.

Only availability failures are translated (and count towards opening the breaker): no
server to select, a dropped connection, a network or server-side timeout. Anything else
(a bad query, a ``TypeError``, a duplicate key that escaped) is a bug and propagates
unchanged.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar, cast

from pymongo.errors import ConnectionFailure, ExecutionTimeout, PyMongoError, WTimeoutError

from app.storage.breaker import CircuitBreaker
from app.storage.errors import StorageUnavailable

T = TypeVar("T")

# ConnectionFailure covers AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError,
# NotPrimaryError and WaitQueueTimeoutError.
_OUTAGE_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionFailure,
    ExecutionTimeout,
    WTimeoutError,
    TimeoutError,
)


LOCK_NOT_ACQUIRED = "Lock is not acquired"


def is_outage(exc: BaseException) -> bool:
    """Does ``exc`` mean "the database can't be reached (in time)", not "this is a bug"?"""
    if isinstance(exc, _OUTAGE_ERRORS):
        return True
    # Client-side operation timeouts (pymongo.timeout) come in several classes.
    return isinstance(exc, PyMongoError) and exc.timeout


def unavailable(what: str, exc: BaseException) -> StorageUnavailable:
    """The typed error for an outage. Names the class only: driver messages list hosts and
    options, and the connection string stays out of every message."""
    err = StorageUnavailable(f"{what}: database unavailable ({type(exc).__name__})")
    err.__cause__ = exc
    return err


async def translate(call: Awaitable[T], what: str) -> T:
    """Await ``call`` with outage errors mapped to ``StorageUnavailable`` (no breaker)."""
    try:
        return await call
    except StorageUnavailable:
        raise
    except (PyMongoError, TimeoutError) as exc:
        if is_outage(exc):
            raise unavailable(what, exc) from exc
        raise
    except RuntimeError as exc:
        # PyMongo's server selection waits on an asyncio.Condition; on Python 3.11 a wait
        # that times out or is cancelled while the server is gone can end in this error
        # (seen with the server stopped under 100 users). It means "no server", not a bug.
        if str(exc) == LOCK_NOT_ACQUIRED:
            raise unavailable(what, exc) from exc
        raise


async def guarded_call(breaker: CircuitBreaker, what: str, call: Callable[[], Awaitable[T]]) -> T:
    """``call()`` unless the breaker is open, under its judgement (see ``CircuitBreaker``):
    an outage raises ``StorageUnavailable`` and counts towards opening the breaker."""
    breaker.check()
    try:
        result = await breaker.watch(translate(call(), what), what)
    except StorageUnavailable as exc:
        await breaker.record_call_failure(exc.__cause__ or exc)
        raise
    except TimeoutError as exc:  # the breaker's per-call cap
        await breaker.record_call_failure(exc)
        raise unavailable(what, exc) from exc
    breaker.record_success()
    return result


def _coroutine_method(name: str) -> Callable[..., Awaitable[Any]]:
    async def method(self: _Guarded, *args: Any, **kwargs: Any) -> Any:
        target = getattr(self._inner, name)
        return await guarded_call(self._breaker, self._what(name), lambda: target(*args, **kwargs))

    method.__name__ = name
    return method


def _generator_method(name: str) -> Callable[..., AsyncIterator[Any]]:
    async def method(self: _Guarded, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        what, breaker = self._what(name), self._breaker
        breaker.check()
        inner: AsyncIterator[Any] = getattr(self._inner, name)(*args, **kwargs)
        try:
            while True:
                try:
                    item = await guarded_call(breaker, what, inner.__anext__)
                except StopAsyncIteration:
                    return
                yield item
        finally:
            aclose = getattr(inner, "aclose", None)
            if aclose is not None:
                await aclose()

    method.__name__ = name
    return method


class _Guarded:
    def __init__(self, inner: object, breaker: CircuitBreaker) -> None:
        self._inner = inner
        self._breaker = breaker

    def _what(self, method: str) -> str:
        return f"{type(self._inner).__name__}.{method}"

    @property
    def inner(self) -> object:
        """The unguarded repository (tests and diagnostics)."""
        return self._inner


_PROXIES: dict[type, type[_Guarded]] = {}


def _proxy_class(cls: type) -> type[_Guarded]:
    if cls in _PROXIES:
        return _PROXIES[cls]
    namespace: dict[str, Any] = {}
    for name, fn in inspect.getmembers(cls, inspect.isfunction):
        if name.startswith("_"):
            continue
        if inspect.isasyncgenfunction(fn):
            namespace[name] = _generator_method(name)
        elif inspect.iscoroutinefunction(fn):
            namespace[name] = _coroutine_method(name)
    proxy = _PROXIES[cls] = type(f"Guarded{cls.__name__}", (_Guarded,), namespace)
    return proxy


def guard(repo: T, breaker: CircuitBreaker) -> T:
    """``repo`` behind ``breaker`` (see the module docstring)."""
    return cast(T, _proxy_class(type(repo))(repo, breaker))
