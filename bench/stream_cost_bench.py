"""What streaming costs per token: realistic answers, one token per chunk (prints, never asserts).

    uv run python bench/stream_cost_bench.py [--quick] [lib] [bot]

Answers of 200, 1 000 and 4 000 tokens, streamed one token (4 characters) per SSE chunk by
the local fake OpenAI-compatible server (tests/fakes/openai_server.py), as fast as possible
and at a realistic pace. CPU is process CPU time (user + system), never wall time.

- lib: the fake model runs in a child process, so this process's CPU is the client's only.
  Paths: raw aiohttp + json.loads per SSE line, raw ``litellm.acompletion(stream=True)``,
  llmdoor's ``aquery_llm_events`` (what the bot uses) on the litellm path
  (LLM_FAST_STREAM=off) and, where it exists, on the fast path (auto). Printed: CPU per
  chunk and per answer, and the event loop's lag (p99, max) while 50 long answers stream
  at a realistic pace.
- bot: ``python -m app`` in its own process (CPU from /proc, loop lag from a probe the
  launcher installs) against the Telegram emulator and the fake model of this process.
  Printed: bot CPU per chunk and per answer, long answers/s per core ÷ the send budget
  (25 msg/s), loop lag p99 while 50 long answers stream, first chunk -> first visible text,
  RSS idle and after N answers (2 000 by default, 30-chunk answers as in bot_bench).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import aiohttp  # noqa: E402

from tests.fakes.openai_server import FakeOpenAI, Reply, _last_user_text  # noqa: E402

MODEL = "openai/gpt-4o-mini"  # priced in litellm's map: cost lookup included
TOKEN_CHARS = 4  # one token per chunk, ~4 characters as in English text
SIZES = (200, 1000, 4000)
SEND_BUDGET = 25.0  # Telegram messages per second (app.bot.delivery.send_budget)
LAUNCHER = ROOT / "bench" / "stream_cost_probe.py"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def tokens_text(n: int, seed: str = "") -> str:
    words = ("alp ", "bra ", "cha ", "del ", "ech ", "fox ", "gol ", "hot ")
    return (seed + "".join(words[i % len(words)] for i in range(n)))[: n * TOKEN_CHARS].rstrip()


class TokenFake(FakeOpenAI):
    """Answers "tokens N delay D [tag]" with N one-token chunks, D seconds apart."""

    def _pick(self, body: dict[str, Any]) -> Reply:
        words = _last_user_text(body).split()
        if len(words) >= 4 and words[0] == "tokens":
            n, delay = int(words[1]), float(words[3])
            return Reply(text=tokens_text(n), chunk_size=TOKEN_CHARS, chunk_delay=delay)
        return super()._pick(body)


def serve() -> None:
    """Child process: the fake model; prints its base URL and runs until stdin closes."""
    with TokenFake() as fake:
        print(fake.base_url, flush=True)
        sys.stdin.read()


@contextlib.contextmanager
def fake_in_child() -> Any:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)


class LagProbe:
    """Wakes every 5 ms and records how late it woke: the event loop's lag."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(0.005)
            self.samples.append(max(0.0, loop.time() - t - 0.005))

    def __enter__(self) -> LagProbe:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


# ------------------------------------------------------------------------------ lib


async def raw_aiohttp(session: aiohttp.ClientSession, base: str, prompt: str) -> int:
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    chunks = 0
    async with session.post(f"{base}/chat/completions", json=body) as response:
        async for line in response.content:
            if line.startswith(b"data: ") and line[6:].strip() != b"[DONE]":
                json.loads(line[6:])
                chunks += 1
    return chunks


def lib_paths(
    base: str, closers: list[Callable[[], Awaitable[Any]]]
) -> dict[str, Callable[[str], Awaitable[int]]]:
    from llmdoor import InMemoryUsageSink, LLMProvider, LLMSettings, litellm_module

    lit = litellm_module()
    paths: dict[str, Callable[[str], Awaitable[int]]] = {}
    holder: dict[str, aiohttp.ClientSession] = {}

    async def aio(prompt: str) -> int:
        if "s" not in holder:
            holder["s"] = aiohttp.ClientSession()
        return await raw_aiohttp(holder["s"], base, prompt)

    async def raw_litellm(prompt: str) -> int:
        response = await lit.acompletion(
            model=MODEL,
            messages=[{"role": "user", "content": prompt}],
            api_base=base,
            api_key="sk-bench",
            stream=True,
            stream_options={"include_usage": True},
            num_retries=0,
        )
        return sum([1 async for _ in response])

    paths["raw aiohttp + json.loads"] = aio
    closers.append(lambda: holder["s"].close() if "s" in holder else asyncio.sleep(0))
    paths["raw litellm.acompletion"] = raw_litellm
    modes = ["off", "auto"] if "fast_stream" in LLMSettings.model_fields else [None]
    for mode in modes:
        extra = {"fast_stream": mode} if mode else {}
        settings = LLMSettings(api_base=base, api_key="sk-bench", max_retries=0, **extra)
        provider = LLMProvider(settings, usage_sink=InMemoryUsageSink())

        async def ours(prompt: str, provider: LLMProvider = provider) -> int:
            return sum([1 async for _ in provider.aquery_llm_events(prompt, MODEL)])

        label = "llmdoor aquery_llm_events" + (f" ({mode})" if mode else "")
        paths[label] = ours
    return paths


async def bench_lib(quick: bool) -> None:
    print("\n== lib: client CPU per chunk (fake model in a child process) ==")
    budget_chunks = 3000 if quick else 12000  # chunks per path and size
    with fake_in_child() as base:
        closers: list[Callable[[], Awaitable[Any]]] = []
        paths = lib_paths(base, closers)
        for fn in paths.values():  # connections, imports, caches
            for _ in range(3):
                await fn("tokens 50 delay 0")
        print(f"{'path':<36}" + "".join(f"{n:>7} tok: µs/chunk ms/answer" for n in SIZES))
        for label, fn in paths.items():
            row = f"{label:<36}"
            for size in SIZES:
                answers = max(2, budget_chunks // size)
                c0 = time.process_time()
                for _ in range(answers):
                    await fn(f"tokens {size} delay 0")
                cpu = time.process_time() - c0
                row += f"{cpu / (answers * size) * 1e6:>17.0f} {cpu / answers * 1000:>10.1f}"
            print(row, flush=True)
        tokens, delay, users = (300, 0.02, 50) if quick else (1000, 0.02, 50)
        print(
            f"\n{users} answers of {tokens} tokens at once, one every {delay * 1000:.0f} ms "
            "(a realistic pace): loop lag while they stream"
        )
        for label, fn in paths.items():
            c0, w0 = time.process_time(), time.monotonic()
            with LagProbe() as probe:
                await asyncio.gather(*(fn(f"tokens {tokens} delay {delay}") for _ in range(users)))
            cpu, wall = time.process_time() - c0, time.monotonic() - w0
            ms = [s * 1000 for s in probe.samples]
            print(
                f"{label:<36} lag p99 {pct(ms, 0.99):7.1f} ms  max {max(ms):7.1f} ms "
                f"(n={len(ms)})  "
                f"CPU {cpu:5.2f} s in {wall:5.2f} s wall",
                flush=True,
            )
        for close in closers:
            await close()
    from llmdoor import aclose

    await aclose()  # litellm's logging worker and the fast path's HTTP sessions


# ------------------------------------------------------------------------------ bot


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lag_ms(path: Path, since: int) -> tuple[list[float], int]:
    """The probe's samples (ms) written since line ``since``."""
    lines = path.read_text().splitlines() if path.exists() else []
    return [float(x) for x in lines[since:] if x], len(lines)


def gc_pauses(lag_file: Path) -> list[str]:
    """The probe's "generation ms" pairs, flattened."""
    path = Path(str(lag_file) + ".gc")
    return path.read_text().split() if path.exists() else []


@contextlib.asynccontextmanager
async def bot(tg: Any, fake: FakeOpenAI, lag_file: Path) -> AsyncIterator[int]:
    from bot_bench import bot_env

    env = bot_env(tg, fake) | {
        "ACCESS_ALLOW_EVERYONE": "true",
        "BENCH_LAG_FILE": str(lag_file),
        "LOG_LEVEL": "WARNING",
        # This checkout's bot and llmdoor, also when run with another checkout's venv.
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'packages' / 'llmdoor'}",
    }
    with tempfile.TemporaryDirectory() as cwd:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(LAUNCHER), cwd=cwd, env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            yield proc.pid
        finally:
            proc.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 30)


async def answered(tg: Any, fake: Any, uid: int, tag: str, limit: float = 120) -> None:
    """Until the model streamed the answer for ``tag`` and the bot went quiet after it."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        st = fake.times_for(tag)
        if st is not None and st.done_at is not None:
            break
        await asyncio.sleep(0.02)
    with contextlib.suppress(TimeoutError):
        await tg.wait_quiet(quiet=0.4, timeout=60)


def first_text_delays(tg: Any, fake: Any, mark: int, tags: dict[int, str]) -> list[float]:
    firsts: dict[int, float] = {}
    for call in tg.calls(since=mark, skip_polling=True):
        name = call.method.lower()  # sendMessageDraft, sendRichMessage, editMessageText, ...
        if not name.startswith(("send", "edit")) or name == "sendchataction" or not call.ok:
            continue
        chat = call.params.get("chat_id") if isinstance(call.params, dict) else None
        if chat is None:
            continue
        with contextlib.suppress(TypeError, ValueError):
            firsts.setdefault(int(chat), call.time)
    out = []
    for uid, tag in tags.items():
        st = fake.times_for(tag)
        if uid in firsts and st is not None and st.first_chunk_at is not None:
            out.append((firsts[uid] - st.first_chunk_at) * 1000)
    return out


async def bench_bot(quick: bool, rss_answers: int, load_only: bool = False) -> None:
    from bot_bench import TimedFake, emulator

    print("\n== bot: `python -m app` in its own process (CPU from /proc) ==")
    fake = TimedFake(chunks=30, chunk_size=TOKEN_CHARS, chunk_delay=0.0)
    fake.start()
    lag_file = Path(tempfile.mkdtemp()) / "lag.txt"
    try:
        async with emulator() as tg, bot(tg, fake, lag_file) as pid:
            uid = 1000
            # Ready, litellm imported, one answer given.
            for _ in range(600):
                if lag_file.exists():
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(3)
            await tg.user(uid).send("question q1000x0")
            await answered(tg, fake, uid, "q1000x0")
            await asyncio.sleep(2)
            rss_idle = rss_mb(pid)
            idle0, w0 = cpu_s(pid), time.monotonic()
            await asyncio.sleep(3)
            idle_rate = (cpu_s(pid) - idle0) / (time.monotonic() - w0)
            print(
                f"RSS idle (warm, one answer given): {rss_idle:.0f} MB; "
                f"idle CPU {idle_rate * 100:.1f} %"
            )
            per_answer_1000 = float("nan")
            print(
                f"{'answer':>12} {'µs/chunk':>9} {'ms/answer':>10} {'first text ms':>14}"
                "   (fast stream; follow-ups in one conversation, one at a time)"
            )
            for size in SIZES if not load_only else ():
                fake.configure(chunks=size, chunk_size=TOKEN_CHARS, chunk_delay=0.0)
                n = max(2, (2000 if quick else 8000) // size)
                uid += 1
                # The conversation's first message (and its title call) is not measured.
                await tg.user(uid).send(f"question q{uid}x0")
                await answered(tg, fake, uid, f"q{uid}x0")
                firsts: list[float] = []
                c0, w0 = cpu_s(pid), time.monotonic()
                for i in range(1, n + 1):
                    tag = f"q{uid}x{i}"
                    mark = tg.mark()
                    await tg.user(uid).send(f"question {tag}")
                    await answered(tg, fake, uid, tag)
                    firsts += first_text_delays(tg, fake, mark, {uid: tag})
                cpu = cpu_s(pid) - c0 - idle_rate * (time.monotonic() - w0)
                if size == 1000:
                    per_answer_1000 = cpu / n
                print(
                    f"{size:>8} tok {cpu / n / size * 1e6:>9.0f} {cpu / n * 1000:>10.1f} "
                    f"{pct(firsts, 0.5):>14.1f}",
                    flush=True,
                )
            per_core = 1 / per_answer_1000 if per_answer_1000 > 0 else float("nan")
            print(
                f"1000-token answers/s per core: {per_core:.2f}  ÷ send budget {SEND_BUDGET:.0f}"
                f" = {per_core / SEND_BUDGET:.2f}"
            )
            tokens, delay, users = (300, 0.02, 50) if quick else (1000, 0.02, 50)
            fake.configure(chunks=tokens, chunk_size=TOKEN_CHARS, chunk_delay=delay)
            await asyncio.sleep(1)
            _, seen = lag_ms(lag_file, 0)
            gc_seen = len(gc_pauses(lag_file))
            mark = tg.mark()
            tags = {}
            c0, w0 = cpu_s(pid), time.monotonic()
            for _ in range(users):
                uid += 1
                tags[uid] = f"q{uid}x2"
                await tg.user(uid).send(f"question {tags[uid]}")
            for u, tag in tags.items():
                await answered(tg, fake, u, tag, limit=300)
            cpu, wall = cpu_s(pid) - c0, time.monotonic() - w0
            await asyncio.sleep(0.6)  # the probe flushes every 0.5 s
            lags, _ = lag_ms(lag_file, seen)
            gcs = gc_pauses(lag_file)[gc_seen:]
            gc_ms = [float(x) for x in gcs[1::2]]
            print(
                f"GC pauses >= 10 ms in the bot meanwhile: {len(gc_ms)}, "
                f"longest {max(gc_ms or [0]):.0f} ms (generations {sorted(set(gcs[0::2]))})"
            )
            firsts = first_text_delays(tg, fake, mark, tags)
            print(
                f"{users} answers of {tokens} tokens at once, {delay * 1000:.0f} ms apart: "
                f"loop lag p99 {pct(lags, 0.99):.1f} ms, max {max(lags or [0]):.1f} ms; "
                f"first chunk -> first visible text p50 {pct(firsts, 0.5):.0f} ms, "
                f"p95 {pct(firsts, 0.95):.0f} ms; bot CPU {cpu:.1f} s in {wall:.1f} s",
                flush=True,
            )
            if load_only or not rss_answers:
                return
            fake.configure(chunks=30, chunk_size=10, chunk_delay=0.0)
            c0 = cpu_s(pid)
            batch = 50
            done = 0
            while done < rss_answers:
                tags = {}
                for _ in range(min(batch, rss_answers - done)):
                    uid += 1
                    tags[uid] = f"q{uid}x3"
                    await tg.user(uid).send(f"question {tags[uid]}")
                for u, tag in tags.items():
                    await answered(tg, fake, u, tag, limit=300)
                done += len(tags)
                fake.requests.clear()  # the fake's own memory is not the bot's
            await asyncio.sleep(2)
            print(
                f"RSS after {rss_answers} more answers (30 chunks each, {batch} at a time): "
                f"{rss_mb(pid):.0f} MB (idle was {rss_idle:.0f} MB); bot CPU per answer "
                f"{(cpu_s(pid) - c0) / rss_answers * 1000:.1f} ms"
            )
    finally:
        fake.stop()


async def main(args: argparse.Namespace) -> None:
    sections = args.sections or ["lib", "bot"]
    if "lib" in sections:
        await bench_lib(args.quick)
    if "bot" in sections:
        default = 200 if args.quick else 2000
        rss_answers = args.rss_answers if args.rss_answers is not None else default
        await bench_bot(args.quick, rss_answers, args.load_only)


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", help="lib, bot (default: both)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rss-answers", type=int, default=None)
    parser.add_argument("--load-only", action="store_true", help="bot: only the 50 long answers")
    asyncio.run(main(parser.parse_args()))
