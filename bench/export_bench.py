"""How long a large conversation export stalls the event loop (prints, never asserts).

    uv run python bench/export_bench.py [--mb 34]

A conversation whose export is about ``--mb`` megabytes (Markdown and JSON together) is
exported twice while a ticker coroutine measures the event loop: once the old way
(``ExportService.export`` called on the loop, as the /chats export did) and once through
``ExportService.build`` (a worker thread). Printed: the longest gap the ticker saw (the
stall another chat would feel) and the export's own time.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.services.conversations.export import ExportFile, ExportService  # noqa: E402
from app.storage import Conversation, Turn  # noqa: E402

TURN_CHARS = 80_000


def conversation(mb: float) -> Conversation:
    # Markdown and JSON each hold the text once: half the export per document.
    text = ('Слово word «quoted» "x" \\ line\n' * (TURN_CHARS // 30 + 1))[:TURN_CHARS]
    per_turn = len(text.encode())
    turns = max(2, int(mb * 1_000_000 / 2 / per_turn))
    return Conversation(
        id="0" * 24,
        user_id=1,
        chat_id=1,
        turns=[
            Turn(role="user" if i % 2 == 0 else "assistant", content=text) for i in range(turns)
        ],
        created_at=datetime(2026, 11, 1, tzinfo=UTC),
    )


async def worst_gap(job: Callable[[], Awaitable[list[ExportFile]]]) -> tuple[float, float, int]:
    gaps: list[float] = []
    done = False

    async def ticker() -> None:
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    files = await job()
    took = time.perf_counter() - started
    done = True
    await tick
    return max(gaps), took, sum(len(f.data) for f in files)


async def main(mb: float) -> None:
    conv = conversation(mb)
    exporter = ExportService()

    async def on_loop() -> list[ExportFile]:
        return exporter.export(conv, "Assistant", "Big one")

    async def off_loop() -> list[ExportFile]:
        return await exporter.build(conv, "Assistant", "Big one")

    jobs = [("on the loop (before)", on_loop)]
    if hasattr(exporter, "build"):  # absent before the export moved off the loop
        jobs.append(("worker thread (after)", off_loop))
    for label, job in jobs:
        stall, took, size = await worst_gap(job)
        print(
            f"export {size / 1e6:.1f} MB {label:<22} loop stall max {stall * 1000:6.1f} ms, "
            f"export took {took * 1000:.0f} ms"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=34.0)
    asyncio.run(main(parser.parse_args().mb))
