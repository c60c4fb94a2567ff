"""How much of the one Telegram send budget several webhook instances use together (prints,
never asserts).

    uv run python bench/send_budget_bench.py [--users N] [--rounds R] [--instances 1 2 3]

1, 2 and 3 webhook instances share one MongoDB (SecantusDB) and the bot-wide budget
(BOT_GLOBAL_RATE_PER_SECOND=10); the emulator refuses with 429 just above it. N users write
at once; printed per instance count: answers/s over the burst, its ratio to the budget, and
the 429s. The end-to-end test (tests/e2e/test_send_budget.py) checks the shares and the
absence of 429s; the throughput is measured here because a shared 2-core machine makes it
noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.test_send_budget import BUDGET, burst, instances  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402
from tests.storage.mongo_server import MongoTarget, SecantusProcess  # noqa: E402
from tests.tg_emulator.fixtures import running_emulator  # noqa: E402


async def main(users: int, rounds: int, counts: list[int]) -> None:
    print(f"send budget {BUDGET:.0f}/s, {users} users at once, {rounds} round(s) per count")
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI() as fake:
        proc = SecantusProcess(Path(tmp) / "db")
        await proc.astart()
        target = MongoTarget(uri=proc.uri, kind="secantus", server=proc)
        try:
            for n in counts:
                rates: list[float] = []
                refused = 0
                for _ in range(rounds):
                    async with running_emulator() as tg, instances(tg, fake, target, n) as insts:
                        rates.append(await burst(tg, insts, n_users=users))
                        refused += tg.flood_429_count + tg.served_429
                med = statistics.median(rates)
                print(
                    f"  {n} instance(s): {med:5.1f} answers/s (median; "
                    f"{min(rates):.1f}-{max(rates):.1f}), {med / BUDGET:.2f} of the budget, "
                    f"429s: {refused}"
                )
        finally:
            await proc.astop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(args.users, args.rounds, args.instances))
