"""Keep the garbage collector off the answers' path.

After start-up the heap holds a few hundred MB of objects that live as long as the
process (litellm with its model map and tokenizer, aiogram's and pydantic's types). A
full collection walks every one of them, and under load it runs every few seconds: on a
2-CPU machine each took 0.3-0.4 s with the event loop stopped, so 200 answers streaming
at once all stalled together (measured with ``gc.callbacks`` in ``bench/bot_bench.py
concurrency``). ``gc.freeze`` moves what exists after the warm-up into a generation the
collector never scans again; objects made later are collected as usual.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Any

log = logging.getLogger(__name__)


def freeze_heap() -> int:
    """Collect start-up garbage, then freeze what is left; returns the objects frozen."""
    started = time.monotonic()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info(
        "heap: %d start-up objects frozen (out of the collector's reach) in %.2f s",
        frozen,
        time.monotonic() - started,
    )
    return frozen


async def freeze_heap_after(warmed: asyncio.Future[Any]) -> None:
    """Freeze once the warm-up (litellm's import and first call) is done, also when it
    failed: the first real call reports that, and the heap is worth freezing anyway."""
    await asyncio.wait({warmed})
    if not warmed.cancelled() and (failure := warmed.exception()) is not None:
        log.debug("warm-up failed before the heap freeze: %r", failure)
    freeze_heap()
