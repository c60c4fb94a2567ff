"""Time what /chats reads, the list page and the search, over 10 000 conversations with
1 000 000 turns (and a tenth of that, for the ratio), in memory and on MongoDB.

    uv run python bench/conversations_bench.py [--sizes 1000,10000] [--turns 100]
                                               [--backends memory,mongo] [--repeat 5]

Shape: 100 conversations per user (each user in their private chat), ``--turns`` turns per
conversation, so 10 000 conversations are 100 users and 1 000 000 turns. The queries are
those of one user: the first and last page of /chats, the count, and searches for a
common word, a rare word and two words. They should cost the same at both sizes: the
(user, chat, thread) index narrows every query to the user's own conversations.

MongoDB is the SecantusDB stand-in (a Python server, 2-27x slower than mongod by its
authors' figures) unless TEST_MONGODB_URI points at a real mongod. Stand-in figures say
whether the queries keep their cost as the collection grows, NOT how fast MongoDB is.
Never part of the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bson import ObjectId

from app.storage import Storage, Turn, open_memory_storage
from app.storage.models import utc_ms
from app.storage.words import query_words, words_of_all

PER_USER = 100
VOCABULARY = [f"w{i}" for i in range(3000)]
START = datetime(2026, 1, 1, tzinfo=UTC)
USER = 1  # whose /chats is measured (sizes of at least 200 conversations)
QUERIES = [
    "list page 1",
    "list last page",
    "count",
    "search common",
    "search rare",
    "search 2 words",
]


def conversation_turns(rnd: random.Random, conv_no: int, turns: int) -> list[Turn]:
    out = []
    when = START + timedelta(minutes=conv_no)
    for t in range(turns):
        words = rnd.choices(VOCABULARY, k=10)
        if t == turns // 2:
            words.append(f"rare{conv_no}")  # one word only this conversation has
        out.append(
            Turn.model_construct(
                role="user" if t % 2 == 0 else "assistant",
                content=" ".join(words),
                model=None if t % 2 == 0 else "openai/gpt-4o-mini",
                tokens=None,
                created_at=utc_ms(when + timedelta(seconds=t)),
                message_ids=[],
            )
        )
    return out


async def fill_memory(storage: Storage, conversations: int, turns: int) -> None:
    rnd = random.Random(7)
    repo = storage.conversations
    for n in range(conversations):
        user = n // PER_USER
        conv = await repo.start_new(user, user)
        await repo.append(conv.id, conversation_turns(rnd, n, turns))
        if n % PER_USER == 0:
            await repo.rename(conv.id, f"Title number {n}")


async def fill_mongo(storage: Storage, conversations: int, turns: int) -> None:
    """The documents the repository writes, inserted in batches (start_new + append per
    conversation would take the stand-in far longer and measure nothing /chats does)."""
    inner: Any = storage.conversations.inner  # type: ignore[attr-defined]
    col = inner._col
    await col.delete_many({})
    rnd = random.Random(7)
    batch: list[dict[str, Any]] = []
    for n in range(conversations):
        user = n // PER_USER
        conv_turns = conversation_turns(rnd, n, turns)
        title = f"Title number {n}" if n % PER_USER == 0 else None
        updated = conv_turns[-1].created_at if conv_turns else START
        batch.append(
            {
                "_id": ObjectId(),
                "user_id": user,
                "chat_id": user,
                "thread_id": 0,
                "active": (n + 1) % PER_USER == 0,
                "archived": False,
                "title": title,
                "model": None,
                "persona": None,
                "turns": [t.model_dump() for t in conv_turns],
                "words": sorted(words_of_all([title or "", *(t.content for t in conv_turns)])),
                "msg_words": sorted(words_of_all(t.content for t in conv_turns)),
                "title_words": sorted(words_of_all([title or ""])),
                "created_at": START + timedelta(minutes=n),
                "updated_at": updated,
            }
        )
        if len(batch) == 200:
            await col.insert_many(batch)
            batch = []
    if batch:
        await col.insert_many(batch)


async def timed(fn: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = await fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


async def measure(storage: Storage, repeat: int) -> dict[str, float]:
    repo = storage.conversations
    rare = USER * PER_USER + 42
    fns: dict[str, Callable[[], Awaitable[Any]]] = {
        "list page 1": lambda: repo.list_page(USER, USER, offset=0, limit=6),
        "list last page": lambda: repo.list_page(USER, USER, offset=96, limit=6),
        "count": lambda: repo.count(USER, USER),
        "search common": lambda: repo.search(USER, USER, 0, query_words("w1"), limit=30),
        "search rare": lambda: repo.search(USER, USER, 0, query_words(f"rare{rare}")),
        "search 2 words": lambda: repo.search(USER, USER, 0, query_words("w1 w2"), limit=30),
    }
    out: dict[str, float] = {}
    results: dict[str, Any] = {}
    for name in QUERIES:
        out[name], results[name] = await timed(fns[name], repeat)
    assert len(results["list page 1"]) == 6 and results["count"] == PER_USER
    assert len(results["search rare"]) == 1, results["search rare"]
    print(
        f"   check: count={results['count']} rare hits={len(results['search rare'])} "
        f"common hits={len(results['search common'])}"
    )
    return out


def report(label: str, sizes: list[int], turns: int, table: dict[int, dict[str, float]]) -> None:
    print(f"\n== {label} ==")
    head = "".join(f"{f'{n:,} conv/{n * turns:,} turns':>30}" for n in sizes)
    print(f"{'query':16s}{head}   ratio last/first")
    for q in QUERIES:
        row = "".join(f"{table[n][q] * 1000:>28.3f}ms" for n in sizes)
        print(f"{q:16s}{row}   {table[sizes[-1]][q] / table[sizes[0]][q]:.2f}")


async def open_mongo(tmp: str) -> tuple[Storage, Any]:
    from app.storage.mongo import open_mongo_storage

    uri = os.environ.get("TEST_MONGODB_URI")
    server = None
    if not uri:
        import secantus

        server = secantus.SecantusDBServer(host="127.0.0.1", port=0, storage_path=tmp)
        server.start()
        uri = server.uri
    storage = await open_mongo_storage(uri, db_name=f"conv_bench_{ObjectId()}", timeout_ms=600_000)
    return storage, server


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000", help="conversations")
    ap.add_argument("--turns", type=int, default=100, help="turns per conversation")
    ap.add_argument("--backends", default="memory,mongo")
    ap.add_argument("--repeat", type=int, default=5, help="best of N")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]

    if "memory" in args.backends:
        table = {}
        for n in sizes:
            storage = open_memory_storage(max_conversations=max(sizes) * 2)
            t0 = time.perf_counter()
            await fill_memory(storage, n, args.turns)
            print(f"memory {n:,} conversations, {n * args.turns:,} turns: "
                  f"filled in {time.perf_counter() - t0:.1f}s")  # fmt: skip
            table[n] = await measure(storage, args.repeat)
            await storage.close()
        report("memory backend", sizes, args.turns, table)

    if "mongo" in args.backends:
        tmp = tempfile.TemporaryDirectory(prefix="conv-bench-")
        storage, server = await open_mongo(tmp.name)
        label = (
            "MongoDB (real mongod)"
            if server is None
            else "MongoDB stand-in (SecantusDB, not mongod)"
        )
        try:
            table = {}
            for n in sizes:
                t0 = time.perf_counter()
                await fill_mongo(storage, n, args.turns)
                print(f"mongo {n:,} conversations, {n * args.turns:,} turns: "
                      f"inserted in {time.perf_counter() - t0:.1f}s")  # fmt: skip
                table[n] = await measure(storage, args.repeat)
            report(label, sizes, args.turns, table)
        finally:
            await storage.close()
            if server is not None:
                server.stop()
            tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
