"""Slow is not down: 100 users chatting round after round on the MongoDB stand-in (prints,
never asserts).

    uv run python bench/storage_load_bench.py [--users 100] [--rounds 5] [--new-every 2]
                                              [--outage SECONDS]

A polling bot with the production storage settings (MONGODB_TIMEOUT_MS, one circuit breaker
for the repositories and the dialog state) answers ``--users`` friends at once through the
Telegram emulator and the fake model, on SecantusDB, which stalls under such a load (it is a
Python server in this very process). Every round each user sends a message and waits for
the answer; every ``--new-every`` rounds a third of them send /new first. With
``--outage`` the server is also stopped for that long in the middle round, while the
answers of that round are being written (a real outage, not a slow database). Printed: answers
and /new replies received, the log lines that mean "data not stored" (spend not counted,
exchange not saved, unhandled errors), how often the breaker opened, and what the database
holds afterwards (user turns stored per answer given). Run it on two commits for a
before/after. SecantusDB is a development stand-in: these figures say how the bot treats a
slow database, not how fast mongod is.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pymongo import AsyncMongoClient  # noqa: E402

from app.bot.factory import create_app  # noqa: E402
from app.bot.run.fsm import make_fsm_storage  # noqa: E402
from app.storage import open_storage  # noqa: E402
from llmdoor import AccessSettings  # noqa: E402
from tests.e2e.test_webhook import mongo_settings  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402
from tests.storage.mongo_server import SecantusProcess  # noqa: E402
from tests.tg_emulator import TelegramEmulator  # noqa: E402
from tests.tg_emulator.fixtures import make_bot, run_polling, running_emulator  # noqa: E402

FIRST_USER = 5000
DB = "storage_load_bench"

# Log lines that mean "something the user did was not stored" (or not answered properly).
PATTERNS = {
    "conversation unavailable (answered without it)": "answering without it",
    "spend not counted": "not counted",
    "spend not settled": "not settled",
    "exchange not saved": "could not save the exchange",
    "answer ids not recorded": "could not record the answer",
    "unhandled errors": "unhandled ",
    "breaker opened": "failing storage calls fast",
}


class Tally(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts: Counter[str] = Counter()
        self.unhandled: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        for label, needle in PATTERNS.items():
            if needle in text:
                self.counts[label] += 1
        if text.startswith("unhandled "):
            self.unhandled[text.split()[1]] += 1


async def ask(tg: TelegramEmulator, uid: int, text: str, expect: str | None = None) -> bool:
    user = tg.user(uid, f"U{uid}")
    await user.send(text)
    want = expect or f"echo: {text}"
    try:
        await tg.wait_for_message(uid, lambda m: (m.text or "").startswith(want), timeout=180)
    except (TimeoutError, AssertionError):
        return False
    return True


async def new_conversation(tg: TelegramEmulator, uid: int) -> bool:
    """True when /new was confirmed; an outage message or silence is False."""
    user = tg.user(uid, f"U{uid}")
    await user.send("/new")
    try:
        reply = await tg.wait_for_message(
            uid, lambda m: (m.text or "").startswith(("🆕", "⚠️")), timeout=180
        )
    except (TimeoutError, AssertionError):
        return False
    return (reply.text or "").startswith("🆕")


async def stored(uri: str) -> dict[str, Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
    try:
        db = client[DB]
        user_turns = 0
        convs = 0
        async for doc in db["conversations"].find({}, {"turns.role": 1}):
            convs += 1
            user_turns += sum(1 for t in doc.get("turns", []) if t.get("role") == "user")
        spend = sum([float(d.get("total", 0.0)) async for d in db["spend"].find({})])
        usage = await db["usage"].count_documents({})
        cost = sum([float(d.get("cost_usd") or 0.0) async for d in db["usage"].find({})])
        return {
            "user_turns": user_turns,
            "conversations": convs,
            "spend": spend,
            "usage": usage,
            "cost": cost,
        }
    finally:
        await client.close()


async def main(users: int, rounds: int, new_every: int, outage: float) -> None:
    tally = Tally()
    logging.getLogger().addHandler(tally)
    logging.getLogger().setLevel(logging.INFO)
    ids = [FIRST_USER + i for i in range(users)]
    answered = asked = news = news_ok = 0
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as fake:
        proc = SecantusProcess(Path(tmp) / "db")
        await proc.astart()
        async with running_emulator() as tg:
            friends = ",".join(map(str, ids))
            settings = mongo_settings(
                tg, fake, proc.uri, DB, access=AccessSettings(friends=friends)
            )
            # A price for the fake model, so that spend is counted and can be compared.
            priced = settings.llm.model_copy(
                update={"unpriced_input_per_mtok": 1000.0, "unpriced_output_per_mtok": 1000.0}
            )
            settings = settings.model_copy(update={"llm": priced})
            storage = await open_storage(proc.uri, db_name=DB)
            fsm = make_fsm_storage(proc.uri, db_name=DB, breaker=storage.breaker)
            app = create_app(settings, storage=storage, bot=make_bot(tg), fsm_storage=fsm)
            started = time.perf_counter()
            try:
                async with run_polling(app.dispatcher, app.bot, tg, drain_timeout=60):
                    for r in range(rounds):
                        if new_every and r and r % new_every == 0:
                            group = [u for u in ids if u % 3 == r % 3]
                            oks = await asyncio.gather(*(new_conversation(tg, u) for u in group))
                            news += len(group)
                            news_ok += sum(oks)
                        asks = asyncio.gather(*(ask(tg, u, f"r{r} u{u}") for u in ids))
                        if outage and r == rounds // 2:
                            await asyncio.sleep(0.5)
                            await proc.astop()
                            await asyncio.sleep(outage)
                            await proc.astart()
                        got = await asks
                        asked += len(ids)
                        answered += sum(got)
                        print(f"round {r}: {sum(got)}/{len(ids)} answered", flush=True)
                    await storage.breaker.wait_available(timeout=60)
                    drain = getattr(storage, "drain_writes", None)
                    if drain is not None:
                        await drain(timeout=120)
                    await storage.usage_sink.flush(timeout=120)
            finally:
                elapsed = time.perf_counter() - started
                trips = storage.breaker.trips
                await fsm.close()
                await storage.close()
            db = await stored(proc.uri)
            await proc.astop()
    logging.getLogger().removeHandler(tally)
    stop = f", server stopped {outage:g} s in round {rounds // 2}" if outage else ""
    print(f"\n{users} users x {rounds} rounds in {elapsed:.0f} s on SecantusDB{stop}")
    print(f"answers received:          {answered}/{asked}")
    print(f"/new confirmed:            {news_ok}/{news}")
    for label in PATTERNS:
        print(f"{label + ':':<50} {tally.counts[label]}")
    if tally.unhandled:
        print(f"unhandled by type: {dict(tally.unhandled)}")
    print(f"breaker trips:             {trips}")
    print(
        f"stored: user turns {db['user_turns']} for {answered} answers "
        f"(unsaved {answered - db['user_turns']}), conversations {db['conversations']}, "
        f"usage records {db['usage']}"
    )
    print(
        f"spend counters: ${db['spend']:.4f}, charged in usage records: ${db['cost']:.4f} "
        f"(counters off by ${db['spend'] - db['cost']:+.4f}: reservations never settled count "
        f"too much, spend not counted too little)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--new-every", type=int, default=2)
    parser.add_argument("--outage", type=float, default=0.0)
    args = parser.parse_args()
    asyncio.run(main(args.users, args.rounds, args.new_every, args.outage))
