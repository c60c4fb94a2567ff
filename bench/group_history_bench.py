"""What recording group history costs per message (prints, never asserts).

    uv run python bench/group_history_bench.py [--messages 1500] [--chats 50]

Every group message the bot sees goes through RecordGroupMessages, an outer middleware
before the access gate. Printed per backend (memory; MongoDB on SecantusDB, the in-process
development stand-in):

- hot path: microseconds a message spends in the middleware (mean, and the median of
  single messages), against a middleware that only passes it on (what the group's
  ordinary message path pays). The code is the same for both backends (a queue append);
  with SecantusDB the mean also counts the server's threads holding the interpreter;
- write-behind: microseconds per message until everything queued is stored, the writer's
  50 ms linger included (batches of up to 100, one bulk write on MongoDB, each chat
  trimmed to GROUP_HISTORY_SIZE after each batch);
- interleaved: the same messages with the loop yielding after each one (the writer runs
  between updates, as in a live bot): wall time per message, recording on against off.

SecantusDB is a Python server in this very process, so its figures include the server's
work and say how the bot behaves, not how fast mongod is.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiogram.types import Chat, Message, TelegramObject, Update, User  # noqa: E402

from app.bot.groups.recording import RecordGroupMessages  # noqa: E402
from app.services.groups.history import GroupHistory  # noqa: E402
from app.storage import Storage, open_memory_storage, open_storage  # noqa: E402
from tests.storage.mongo_server import SecantusProcess  # noqa: E402

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def updates(n: int, chats: int, first_id: int) -> list[Update]:
    out = []
    for i in range(n):
        message = Message(
            message_id=first_id + i,
            date=datetime.now(UTC),
            chat=Chat(id=-1000 - i % chats, type="supergroup", title="Team"),
            from_user=User(id=10 + i % 7, is_bot=False, first_name="Member"),
            text=f"message {i}: " + "words " * 12,
        )
        out.append(Update(update_id=first_id + i, message=message))
    return out


async def passthrough(event: TelegramObject, data: dict[str, Any]) -> None:
    return None


async def run_through(
    middleware: Callable[[Handler, TelegramObject, dict[str, Any]], Awaitable[Any]],
    batch: list[Update],
    *,
    yielding: bool,
) -> float:
    started = time.perf_counter()
    for update in batch:
        await middleware(passthrough, update, {})
        if yielding:
            await asyncio.sleep(0)
    return time.perf_counter() - started


async def median_call(
    middleware: Callable[[Handler, TelegramObject, dict[str, Any]], Awaitable[Any]],
    batch: list[Update],
) -> float:
    """The median of one message's time in ``middleware``: the mean also counts the moments
    another thread (the in-process SecantusDB) holds the interpreter."""
    times = []
    for update in batch:
        started = time.perf_counter()
        await middleware(passthrough, update, {})
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def plain(handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
    return await handler(event, data)


async def measure(name: str, storage: Storage, n: int, chats: int) -> None:
    history = GroupHistory(storage.group_history, size=200, hours=48)
    recorder = RecordGroupMessages(history)
    # Warm both paths (pydantic, first task) before timing.
    await run_through(recorder, updates(200, chats, 1), yielding=False)
    await history.flush(None)
    await run_through(plain, updates(200, chats, 1), yielding=False)

    base = await run_through(plain, updates(n, chats, 10_000), yielding=False)
    hot = await run_through(recorder, updates(n, chats, 10_000), yielding=False)
    started = time.perf_counter()
    await history.flush(None)
    behind = time.perf_counter() - started
    hot_median = await median_call(recorder, updates(n, chats, 50_000))
    await history.flush(None)

    off = await run_through(plain, updates(n, chats, 100_000), yielding=True)
    started = time.perf_counter()
    on = await run_through(recorder, updates(n, chats, 100_000), yielding=True)
    await history.flush(None)
    on_total = time.perf_counter() - started
    await history.close()
    us = 1e6 / n
    print(
        f"{name:8} hot path {hot * us:6.1f} µs/msg, median {hot_median * 1e6:4.1f} "
        f"(pass-through {base * us:4.1f}) | "
        f"write-behind {behind * us:7.1f} µs/msg | interleaved on {on * us:6.1f} / "
        f"off {off * us:5.1f} µs/msg, until stored {on_total * us:7.1f} µs/msg | "
        f"dropped {history.dropped}"
    )


async def main_async(args: argparse.Namespace) -> None:
    memory = open_memory_storage()
    try:
        await measure("memory", memory, args.messages, args.chats)
    finally:
        await memory.close()
    with tempfile.TemporaryDirectory() as tmp:
        proc = SecantusProcess(Path(tmp) / "db")
        await proc.astart()
        try:
            mongo = await open_storage(proc.uri, db_name="group_history_bench")
            try:
                await measure("mongodb", mongo, args.messages, args.chats)
            finally:
                await mongo.close()
        finally:
            await proc.astop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1500)
    parser.add_argument("--chats", type=int, default=50)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
