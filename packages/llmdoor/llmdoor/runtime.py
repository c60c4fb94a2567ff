"""The one place that imports litellm, lazily: `import litellm` costs ~4 s and ~200 MB."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar

# The bundled cost map is what we test against; fetching it from GitHub at import time
# would hang start-up on machines without internet and make costs depend on the network.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

_lock = threading.Lock()
_module: ModuleType | None = None

T = TypeVar("T")
D = TypeVar("D")


def _litellm() -> ModuleType:
    """Import and configure litellm on first use (thread-safe, idempotent)."""
    global _module
    if _module is not None:
        return _module
    with _lock:
        if _module is None:
            import litellm

            # The "Give Feedback / Get Help" banner litellm prints on every error is noise in a bot.
            litellm.suppress_debug_info = True
            # Token counting must never download a tokenizer on the chat path; tiktoken's
            # estimate is good enough to trim history.
            litellm.disable_hf_tokenizer_download = True
            _quiet_per_call_logs()
            _module = litellm
    return _module


def _quiet_per_call_logs() -> None:
    """litellm logs every call at INFO ("LiteLLM completion() model=..."), through its own
    handler and again through the root logger: two lines per model call, and about 1 % of
    the bot's CPU under load. Its warnings and errors still show; so does everything when
    the application logs at DEBUG or litellm's own LITELLM_LOG sets a level."""
    if logging.getLogger().getEffectiveLevel() <= logging.DEBUG:
        return
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


_closers: list[Callable[[], Awaitable[None]]] = []


def on_close(close: Callable[[], Awaitable[None]]) -> None:
    """Run ``close`` in :func:`aclose` (what holds connections registers itself here)."""
    _closers.append(close)


def is_loaded() -> bool:
    return _module is not None


@dataclass
class Tolerated:
    """What a :func:`tolerating` block swallowed: None when it ran through."""

    error: Exception | None = None


@contextlib.contextmanager
def tolerating() -> Iterator[Tolerated]:
    """A block of litellm's own code whose failure only costs a fallback: its look-ups
    (model map, provider guess, token counters, cost functions), a warm-up call, its
    logging worker. They raise whatever their code raises for an id, an input or a litellm
    version they do not handle (litellm's own types, ValueError, KeyError, TypeError, ...),
    so this is the one place that catches anything from litellm; the block is left at the
    failure, and ``.error`` tells the caller, to fall back or to log."""
    outcome = Tolerated()
    try:
        yield outcome
    except Exception as exc:  # litellm's look-ups, tokenizers and worker raise anything
        outcome.error = exc


def best_effort(fn: Callable[..., T], /, *args: Any, default: D, **kwargs: Any) -> T | D:
    """``fn(*args, **kwargs)``, or ``default`` when litellm's code under it raises (see
    :func:`tolerating`)."""
    result: T | D = default
    with tolerating():
        result = fn(*args, **kwargs)
    return result


def warm_litellm(model: str = "openai/gpt-4o-mini") -> None:
    lit = _litellm()
    messages = [{"role": "user", "content": "warm"}]
    _ = len(lit.model_cost)
    lit.token_counter(model=model, messages=messages)
    with tolerating():  # warming is best effort; the real call will report real errors
        for _chunk in lit.completion(
            model=model, messages=messages, mock_response="ok", stream=True
        ):
            pass


async def ensure_loaded() -> None:
    """Make sure litellm is imported without blocking the event loop: while a warm-up
    thread holds the import lock, the wait happens in a worker thread, not on the loop."""
    if _module is None:
        await asyncio.to_thread(warm_litellm)


async def aclose(grace_seconds: float = 2.0) -> None:
    """Stop litellm's background logging worker on this loop (call at bot shutdown), so
    the loop closes without 'Task was destroyed but it is pending' noise; and close the
    fast stream path's HTTP sessions."""
    for close in list(_closers):
        await close()
    if _module is None:
        return
    with tolerating():  # a litellm refactor must not break shutdown
        from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER

        await GLOBAL_LOGGING_WORKER.stop(timeout=grace_seconds)
