"""Time the /stats queries on synthetic usage: in memory, and on MongoDB.

    uv run python bench/stats_bench.py [--n-memory 1000000] [--n-mongo 100000]

MongoDB is the SecantusDB stand-in (a Python server, 2-27x slower than mongod by its
authors' figures) unless TEST_MONGODB_URI points at a real mongod. Stand-in figures say
whether the pipelines work at that size, NOT how fast MongoDB is. Never part of the tests.
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

from app.storage import StatsWindow, UsageRecord, UsageRepository
from app.storage.memory import MemoryUsageRepository

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


async def run(label: str, repo: UsageRepository, n: int, batch: int, repeat: int) -> None:
    print(f"\n== {label}: {n:,} records ==")
    t0 = time.perf_counter()
    in_db = 0.0  # time spent inside add_many only (generation excluded)
    chunk: list[UsageRecord] = []
    for rec in synthetic(n):
        chunk.append(rec)
        if len(chunk) == batch:
            t1 = time.perf_counter()
            await repo.add_many(chunk)
            in_db += time.perf_counter() - t1
            chunk = []
    if chunk:
        t1 = time.perf_counter()
        await repo.add_many(chunk)
        in_db += time.perf_counter() - t1
    dt = time.perf_counter() - t0
    print(f"insert (add_many x{batch}):            {in_db:8.2f} s  {n / in_db:>12,.0f} rec/s")
    print(f"  incl. generating the records:      {dt:8.2f} s  {n / dt:>12,.0f} rec/s")
    assert await repo.count() == n

    day = StatsWindow(since=START + timedelta(days=DAYS - 1), until=START + timedelta(days=DAYS))
    week = StatsWindow(since=START + timedelta(days=DAYS - 7))
    queries: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("totals (all, with p50/p95)", lambda: repo.totals()),
        ("per_user (all, top 20)", lambda: repo.per_user()),
        ("per_model (all)", lambda: repo.per_model()),
        ("per_day (all)", lambda: repo.per_day()),
        ("totals (last 7 days)", lambda: repo.totals(week)),
        ("per_user (last day)", lambda: repo.per_user(day)),
        ("cost_since (one user, 1 day)", lambda: repo.cost_since(3, day.since)),  # type: ignore[arg-type]
    ]
    for name, fn in queries:
        secs, result = await timed(fn, repeat)
        rows = len(result) if isinstance(result, list) else "-"
        print(f"{name:32s} {secs * 1000:10.1f} ms   rows={rows}")
    totals = await repo.totals()
    print(
        f"check: requests={totals.requests:,} errors={totals.errors:,} "
        f"cost=${totals.cost_usd:,.2f} p50={totals.latency_p50_ms:.0f}ms "
        f"p95={totals.latency_p95_ms:.0f}ms"
    )


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n-memory", type=int, default=1_000_000)
    ap.add_argument("--n-mongo", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of N (memory)")
    ap.add_argument("--repeat-mongo", type=int, default=1, help="best of N (MongoDB)")
    args = ap.parse_args()

    if args.n_memory:
        await run("memory backend", MemoryUsageRepository(), args.n_memory, 10_000, args.repeat)

    if args.n_mongo:
        from app.storage.mongo import open_mongo_storage

        uri = os.environ.get("TEST_MONGODB_URI")
        server = None
        tmp = tempfile.TemporaryDirectory(prefix="stats-bench-")
        if uri:
            label = "MongoDB (real mongod via TEST_MONGODB_URI)"
        else:
            import secantus

            server = secantus.SecantusDBServer(host="127.0.0.1", port=0, storage_path=tmp.name)
            server.start()
            uri = server.uri
            label = "SecantusDB STAND-IN (not mongod; says nothing about MongoDB speed)"
        db = f"stats_bench_{ObjectId()}"
        storage = await open_mongo_storage(uri, db_name=db)
        try:
            await run(label, storage.usage, args.n_mongo, 1_000, args.repeat_mongo)
        finally:
            from pymongo import AsyncMongoClient

            client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri)
            await client.drop_database(db)
            await client.close()
            await storage.close()
            if server is not None:
                server.stop()
            tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
