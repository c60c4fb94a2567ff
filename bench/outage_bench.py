"""How much a MongoDB outage costs an answer (prints, never asserts).

    uv run python bench/outage_bench.py [--rounds N]

A polling bot with the production storage settings (MONGODB_TIMEOUT_MS, one circuit breaker
for the repositories and the dialog state) answers a friend through the Telegram emulator
and the fake model, on SecantusDB. The server is stopped and restarted: printed are the
answer latencies before, during (first answer and the rest) and after the outage, and the
ratio of outage to normal latency. SecantusDB is a development stand-in: these figures say
how the bot behaves when its database vanishes, not how fast mongod is.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.bot.factory import create_app  # noqa: E402
from app.bot.run.fsm import make_fsm_storage  # noqa: E402
from app.storage import open_storage  # noqa: E402
from llmdoor import AccessSettings  # noqa: E402
from tests.e2e.test_webhook import mongo_settings  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402
from tests.storage.mongo_server import SecantusProcess  # noqa: E402
from tests.tg_emulator import TelegramEmulator  # noqa: E402
from tests.tg_emulator.fixtures import make_bot, run_polling, running_emulator  # noqa: E402

FRIEND = 200


async def answer_time(tg: TelegramEmulator, text: str) -> float:
    user = tg.user(FRIEND, "Fred")
    started = time.perf_counter()
    await user.send(text)
    await tg.wait_for_message(FRIEND, lambda m: m.text == f"echo: {text}", timeout=60)
    return time.perf_counter() - started


def ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as fake:
        proc = SecantusProcess(Path(tmp) / "db")
        await proc.astart()
        async with running_emulator() as tg:
            settings = mongo_settings(
                tg, fake, proc.uri, "outage_bench", access=AccessSettings(friends=str(FRIEND))
            )
            storage = await open_storage(proc.uri, db_name="outage_bench")
            fsm = make_fsm_storage(proc.uri, db_name="outage_bench", breaker=storage.breaker)
            app = create_app(settings, storage=storage, bot=make_bot(tg), fsm_storage=fsm)
            try:
                async with run_polling(app.dispatcher, app.bot, tg, drain_timeout=30):
                    await answer_time(tg, "warm up")
                    normal = [await answer_time(tg, f"normal {i}") for i in range(rounds)]
                    await proc.astop()
                    down = [await answer_time(tg, f"down {i}") for i in range(rounds)]
                    await proc.astart()
                    await storage.breaker.wait_available(timeout=60)
                    after = [await answer_time(tg, f"after {i}") for i in range(rounds)]
                    await storage.usage_sink.flush(timeout=60)
            finally:
                await fsm.close()
                await storage.close()
                await proc.astop()
    base = statistics.median(normal)
    print(f"normal:            {ms(normal)}")
    print(
        f"outage, 1st answer: {down[0] * 1000:.0f} ms ({down[0] / base:.1f}x normal, "
        f"+{(down[0] - base) * 1000:.0f} ms)"
    )
    print(f"outage, the rest:  {ms(down[1:])} ({statistics.median(down[1:]) / base:.2f}x normal)")
    print(f"after recovery:    {ms(after)}")
    print(
        f"usage records stored: {storage.usage_sink.written}, dropped: {storage.usage_sink.dropped}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    asyncio.run(main(parser.parse_args().rounds))
