"""What turns in pieces cost (issue 27). Prints, never asserts.

    uv run python bench/input_merge_bench.py [--messages N]

- ordinary: a short message that opens no turn, through the real bot on the emulator with
  merging on (BOT_MERGE_WINDOW_MS=1000) and off (0), one at a time: time from the user's
  send to the bot's first call for that chat (typing or the first draft). The difference
  is what the check "is a turn being collected?" adds. Runs alternate on/off to spread the
  machine's noise over both.
- check: the same check alone (the input router's filter), in process, on the in-memory
  store and on MongoDB (SecantusDB in this process): median and p95 per message.
- paste: a paste of 4 096 + 4 096 + 500 characters: time from its last piece to the model
  call (the window plus the work), and model calls made (1 expected).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from aiogram.types import Chat, Message, User  # noqa: E402
from bot_bench import emulator, settings_for  # noqa: E402

from app.bot.factory import create_app  # noqa: E402
from app.bot.input.router import PartOfTurn  # noqa: E402
from app.config import BotSettings, Settings  # noqa: E402
from app.services.input.collector import TurnCollector  # noqa: E402
from app.storage import Storage, open_memory_storage, open_storage  # noqa: E402
from llmdoor import warm_up  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402
from tests.storage.mongo_server import secantus_server  # noqa: E402
from tests.tg_emulator import TelegramEmulator  # noqa: E402
from tests.tg_emulator.fixtures import make_bot, run_polling  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):6.2f} ms  p95 {pct(values, 0.95):6.2f} ms"


@contextlib.asynccontextmanager
async def bot_on(tg: TelegramEmulator, fake: FakeOpenAI, window_ms: int) -> AsyncIterator[Settings]:
    bot = BotSettings(_env_file=None, merge_window_ms=window_ms)  # type: ignore[call-arg]
    settings = settings_for(tg, fake, bot)
    storage = open_memory_storage()
    app = create_app(settings, storage=storage, bot=make_bot(tg))
    try:
        async with run_polling(app.dispatcher, app.bot, tg, drain_timeout=30):
            yield settings
    finally:
        await storage.close()


async def first_sign(tg: TelegramEmulator, chat_id: int, since: int) -> float:
    """When the bot first acted in ``chat_id`` after call index ``since``."""
    while True:
        for call in tg.calls()[since:]:
            acted = call.method.lower() in ("sendchataction", "sendmessagedraft", "sendmessage")
            if acted and str(call.params.get("chat_id")) == str(chat_id):
                return call.time
        await asyncio.sleep(0.001)


async def ordinary_round(fake: FakeOpenAI, window_ms: int, n: int, uid: int) -> list[float]:
    delays: list[float] = []
    async with emulator() as tg, bot_on(tg, fake, window_ms):
        user = tg.user(uid, "Bench")
        for i in range(n + 5):
            since = len(tg.calls())
            sent = time.monotonic()
            await user.send(f"hello {i}")
            seen = await first_sign(tg, user.id, since)
            await tg.wait_for_message(user.id, lambda m, i=i: m.text == f"echo: hello {i}")
            if i >= 5:  # the first ones warm the process up
                delays.append((seen - sent) * 1000)
    return delays


async def bench_ordinary(fake: FakeOpenAI, n: int) -> None:
    on: list[float] = []
    off: list[float] = []
    for run in range(2):
        on += await ordinary_round(fake, 1000, n, 5000 + run)
        off += await ordinary_round(fake, 0, n, 6000 + run)
    print(f"ordinary message, send -> first bot call ({len(on)} each, memory store)")
    print(f"  merging on : {summary(on)}")
    print(f"  merging off: {summary(off)}")
    added = statistics.median(on) - statistics.median(off)
    added95 = pct(on, 0.95) - pct(off, 0.95)
    print(f"  added      : median {added:+.2f} ms  p95 {added95:+.2f} ms")


def ordinary_message(i: int) -> Message:
    chat = Chat(id=42, type="private")
    return Message(
        message_id=i,
        date=0,
        chat=chat,
        from_user=User(id=42, is_bot=False, first_name="B"),
        text=f"hello {i}",
    )


async def check_cost(storage: Storage, n: int) -> list[float]:
    collector = TurnCollector(storage.pieces, window=1.0, max_pieces=12)
    check = PartOfTurn()
    bot = SimpleNamespace()
    media: Any = SimpleNamespace(document_too_large=lambda size: False)
    settings: Any = SimpleNamespace(bot=BotSettings(_env_file=None))  # type: ignore[call-arg]
    times = []
    for i in range(n):
        message = ordinary_message(i)
        start = time.perf_counter()
        passed = await check(message, bot, collector, media, settings)  # type: ignore[arg-type]
        times.append((time.perf_counter() - start) * 1000)
        assert passed is False
    return times[20:]


async def bench_check(n: int) -> None:
    memory = open_memory_storage()
    print(f"the check alone, per ordinary message ({n})")
    print(f"  memory : {summary(await check_cost(memory, n))}")
    with tempfile.TemporaryDirectory() as tmp, secantus_server(Path(tmp)) as server:
        storage = await open_storage(server.uri, db_name="merge_bench")
        try:
            print(f"  MongoDB: {summary(await check_cost(storage, n))} (SecantusDB)")
        finally:
            await storage.close()


async def bench_paste(fake: FakeOpenAI, runs: int) -> None:
    waits = []
    calls = []
    async with emulator() as tg, bot_on(tg, fake, 1000):
        for run in range(runs):
            user = tg.user(7000 + run, "Paster")
            before = len(fake.chat_requests)
            for part in ("a" * 4096, "b" * 4096, "c" * 500):
                await user.send(part)
                last = time.monotonic()
            await tg.wait_for_message(user.id, lambda m: m.text.startswith("echo:"))
            await tg.wait_quiet(quiet=0.5)
            # Streamed calls only: the conversation's title is a call of its own.
            answers = [r for r in fake.chat_requests[before:] if r.stream]
            calls.append(len(answers))
            waits.append((answers[0].received_at - last) * 1000)
    print(f"paste of 3 parts, window 1000 ms ({runs} runs)")
    print(f"  last piece -> model call: {summary(waits)}")
    print(f"  answer calls per paste: {sorted(set(calls))}")


async def main_async(args: argparse.Namespace) -> None:
    await asyncio.to_thread(warm_up)
    with FakeOpenAI() as fake:
        await bench_check(args.messages * 5)
        await bench_ordinary(fake, args.messages)
        await bench_paste(fake, 5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
