"""Time what /stats reads (the daily rollups) and the budget check at growing history
sizes, in memory and on MongoDB, and print the 1M/10k ratio of each.

    uv run python bench/stats_bench.py [--sizes 10000,100000,1000000] [--backends memory,mongo]

Memory: the records go through ``add_many`` (records and rollups, as in production).
MongoDB: inserting 1M records into the stand-in takes ~6 minutes, so the rollups are made
from the same synthetic records by the production code (``app.storage.rollups.build``)
and written straight to ``usage_rollups``; /stats reads nothing else.

MongoDB is the SecantusDB stand-in (a Python server, 2-27x slower than mongod by its
authors' figures) unless TEST_MONGODB_URI points at a real mongod. Stand-in figures say
whether the queries keep their cost at that size, NOT how fast MongoDB is. Never part of
the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bson import ObjectId

from app.storage import StatsWindow, Storage, UsageRecord, open_memory_storage
from app.storage.rollups import LEVELS, add_to

USERS = 50
MODELS = ["openai/gpt-4o", "openai/gpt-4o-mini", "anthropic/claude-sonnet-4", "gemini/flash"]
DAYS = 30
START = datetime(2026, 10, 1, tzinfo=UTC)


def synthetic(n: int, seed: int = 7) -> Iterator[UsageRecord]:
    """n records spread evenly over DAYS days, in time order, ~3% errors, ~5% unpriced."""
    rnd = random.Random(seed)
    step = timedelta(days=DAYS) / n
    for i in range(n):
        outcome = "error" if rnd.random() < 0.03 else "ok"
        yield UsageRecord.model_construct(
            id=str(ObjectId()), user_id=rnd.randrange(USERS), model=rnd.choice(MODELS),
            shortcut=None, prompt_tokens=rnd.randrange(10, 4000),
            completion_tokens=rnd.randrange(0, 2000),
            cost_usd=None if rnd.random() < 0.05 else round(rnd.random() / 100, 6),
            latency_ms=rnd.lognormvariate(7, 0.6), ttft_ms=None, outcome=outcome,
            error_kind="server" if outcome == "error" else None, streamed=True,
            created_at=START + step * i,
        )  # fmt: skip


async def timed(fn: Callable[[], Awaitable[Any]], repeat: int = 3) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = await fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


QUERIES = ["totals (7d)", "totals (all)", "per_user", "per_model", "per_day", "budget check"]


async def fill_memory(storage: Storage, n: int) -> None:
    chunk: list[UsageRecord] = []
    for rec in synthetic(n):
        chunk.append(rec)
        if len(chunk) == 10_000:
            await storage.usage.add_many(chunk)
            chunk = []
    await storage.usage.add_many(chunk)


async def fill_mongo_rollups(storage: Storage, n: int) -> None:
    from app.storage.mongo.rollups import _doc

    built_levels: dict[str, dict[str, Any]] = {level: {} for level in LEVELS}
    for rec in synthetic(n):
        for level, out in built_levels.items():
            add_to(out, rec, level)  # type: ignore[arg-type]
    inner = storage.usage.inner  # type: ignore[attr-defined]
    for level, built in built_levels.items():
        col = inner._rollups[level]
        await col.delete_many({})
        docs = [_doc(r) for r in built.values()]
        for i in range(0, len(docs), 1000):
            await col.insert_many(docs[i : i + 1000])


async def budget_checks(storage: Storage, n: int) -> None:
    """What every chat message runs (app.access.budget): the O(1) daily spend counter."""
    for _ in range(n):
        await storage.spend.spent(3, START.date())


async def measure(storage: Storage, repeat: int) -> dict[str, float]:
    week = StatsWindow(since=START + timedelta(days=DAYS - 7))
    await storage.spend.reserve(3, START.date(), 0.01, None)  # the O(1) daily counter
    fns: dict[str, Callable[[], Awaitable[Any]]] = {
        "totals (7d)": lambda: storage.stats.totals(week),
        "totals (all)": lambda: storage.stats.totals(),
        "per_user": lambda: storage.stats.per_user(),
        "per_model": lambda: storage.stats.per_model(),
        "per_day": lambda: storage.stats.per_day(),
        "budget check": lambda: budget_checks(storage, 200),
    }
    out = {}
    for name in QUERIES:
        out[name], _ = await timed(fns[name], repeat)
    out["budget check"] /= 200  # per call
    t = await storage.stats.totals()
    print(f"   check: requests={t.requests:,} cost=${t.cost_usd:,.2f} "
          f"p50={t.latency_p50_ms}ms p95={t.latency_p95_ms}ms")  # fmt: skip
    return out


async def open_mongo(tmp: str) -> tuple[Storage, Any, str]:
    from app.storage.mongo import open_mongo_storage

    uri = os.environ.get("TEST_MONGODB_URI")
    server = None
    if not uri:
        import secantus

        server = secantus.SecantusDBServer(host="127.0.0.1", port=0, storage_path=tmp)
        server.start()
        uri = server.uri
    storage = await open_mongo_storage(uri, db_name=f"stats_bench_{ObjectId()}", timeout_ms=120_000)
    return storage, server, uri


def report(label: str, sizes: list[int], table: dict[int, dict[str, float]]) -> None:
    print(f"\n== {label} ==")
    print(f"{'query':16s}" + "".join(f"{n:>12,}" for n in sizes) + "   ratio last/first")
    for q in QUERIES:
        row = "".join(f"{table[n][q] * 1000:>10.3f}ms" for n in sizes)
        print(f"{q:16s}{row}   {table[sizes[-1]][q] / table[sizes[0]][q]:.2f}")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--backends", default="memory,mongo")
    ap.add_argument("--repeat", type=int, default=5, help="best of N")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]

    if "memory" in args.backends:
        table = {}
        for n in sizes:
            storage = open_memory_storage()
            t0 = time.perf_counter()
            await fill_memory(storage, n)
            print(f"memory {n:,}: add_many {time.perf_counter() - t0:.1f}s")
            table[n] = await measure(storage, args.repeat)
            await storage.close()
        report("memory backend (records + rollups via add_many)", sizes, table)

    if "mongo" in args.backends:
        tmp = tempfile.TemporaryDirectory(prefix="stats-bench-")
        storage, server, _uri = await open_mongo(tmp.name)
        label = "MongoDB (real mongod)" if server is None else "SecantusDB STAND-IN (not mongod)"
        try:
            table = {}
            for n in sizes:
                t0 = time.perf_counter()
                await fill_mongo_rollups(storage, n)
                print(f"mongo {n:,}: rollups written in {time.perf_counter() - t0:.1f}s")
                table[n] = await measure(storage, args.repeat)
            report(f"{label}, rollups generated directly", sizes, table)
        finally:
            await storage.close()
            if server is not None:
                server.stop()
            tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
