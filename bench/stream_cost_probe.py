"""`python -m app` with an event-loop lag probe, for bench/stream_cost_bench.py.

Wraps ``asyncio.run`` so that the bot's loop also runs a task that wakes every 5 ms and
appends how late it woke (ms) to $BENCH_LAG_FILE every 0.5 s. The bot itself is unchanged.
"""

from __future__ import annotations

import asyncio
import gc
import os
import runpy
import time
from collections.abc import Coroutine
from typing import Any

_run = asyncio.run
PATH = os.environ["BENCH_LAG_FILE"]
GC_PAUSES: list[str] = []  # "generation ms" of collections that took 10 ms or more
_gc_started = 0.0


def _gc_clock(phase: str, info: dict[str, Any]) -> None:
    global _gc_started
    if phase == "start":
        _gc_started = time.perf_counter()
        return
    ms = (time.perf_counter() - _gc_started) * 1000
    if ms >= 10:
        GC_PAUSES.append(f"{info.get('generation')} {ms:.1f}")


gc.callbacks.append(_gc_clock)


async def _probe() -> None:
    loop = asyncio.get_running_loop()
    pending: list[str] = []
    flushed = loop.time()
    while True:
        t = loop.time()
        await asyncio.sleep(0.005)
        now = loop.time()
        pending.append(f"{max(0.0, (now - t - 0.005) * 1000):.2f}")
        if now - flushed > 0.5:
            # A few hundred bytes twice a second: not worth a thread hop.
            with open(PATH, "a") as fh:  # noqa: ASYNC230
                fh.write("\n".join(pending) + "\n")
            if GC_PAUSES:
                with open(PATH + ".gc", "a") as fh:  # noqa: ASYNC230
                    fh.write("\n".join(GC_PAUSES) + "\n")
                GC_PAUSES.clear()
            pending.clear()
            flushed = now


async def _with_probe(main: Coroutine[Any, Any, Any]) -> Any:
    task = asyncio.get_running_loop().create_task(_probe())
    try:
        return await main
    finally:
        task.cancel()


def _patched(main: Coroutine[Any, Any, Any], **kwargs: Any) -> Any:
    return _run(_with_probe(main), **kwargs)


asyncio.run = _patched  # type: ignore[assignment]
runpy.run_module("app", run_name="__main__", alter_sys=True)
