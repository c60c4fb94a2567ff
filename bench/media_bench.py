"""Voice, files and pictures: what reading and transcribing cost (prints, never asserts).

    uv run python bench/media_bench.py [--pages 100] [--calls 100] [--rounds 5]

1. Reading a PDF of ``--pages`` pages (written by fpdf2, a few paragraphs per page):
   pypdf's own text extraction against llmdoor's read_document (caps, worker thread,
   Markdown page structure, the usage event).
2. One transcription, all over real HTTP to the local fake OpenAI server:
   raw ``litellm.atranscription`` against llmdoor's ``atranscribe`` as the bot builds it
   (access policy, budget ledger, the storage usage sink), and the bot's whole path for a
   voice note (Telegram emulator update -> getFile + download -> transcription -> the
   quoted transcript sent back), whose extra time is mostly long polling and Bot API calls.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.access import AccessAuthority  # noqa: E402
from app.bot.factory import create_app, create_llm_provider  # noqa: E402
from app.storage import open_memory_storage  # noqa: E402
from llmdoor import (  # noqa: E402
    LLMProvider,
    LLMSettings,
    litellm_module,
    warm_up,
)
from tests.e2e.conftest import FRIEND_ID, make_settings  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI  # noqa: E402
from tests.media.files import make_pdf  # noqa: E402
from tests.tg_emulator.fixtures import make_bot, run_polling, running_emulator  # noqa: E402

PARAGRAPH = (
    "The quarterly figures show steady growth across all regions, with the northern "
    "office leading on new contracts and the southern office on renewals. "
)
AUDIO = b"OggS" + bytes(range(256)) * 16  # 4 KB, about one second of a voice note


def raw_pypdf(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


async def timed(fn: Callable[[], Awaitable[object]], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        await fn()
    return (time.perf_counter() - start) / n * 1000


def report(label: str, raw_ms: float, ours_ms: float, ours_name: str = "llmdoor") -> None:
    print(
        f"{label:<38} raw {raw_ms:9.2f} ms   {ours_name} {ours_ms:9.2f} ms   "
        f"ratio {ours_ms / raw_ms:5.2f}x   (+{ours_ms - raw_ms:7.2f} ms)"
    )


async def pdf_bench(pages: int, rounds: int) -> None:
    data = make_pdf([f"Page {n}. " + PARAGRAPH * 6 for n in range(1, pages + 1)])
    provider = LLMProvider(LLMSettings())
    raw_pypdf(data)  # imports and first-use caches are not what is measured
    await provider.aread_document(data, "application/pdf", "bench.pdf")
    raw, ours = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        text = raw_pypdf(data)
        raw.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        doc = await provider.aread_document(data, "application/pdf", "bench.pdf")
        ours.append((time.perf_counter() - started) * 1000)
    assert doc.pages == pages and len(doc.markdown) >= len(text) * 0.9
    med = statistics.median
    print(f"\n{pages}-page PDF ({len(data) / 1024:.0f} KB), median of {rounds} rounds")
    report("read (pypdf vs read_document)", med(raw), med(ours))
    print(f"{'per page (read_document)':<38} {med(ours) / pages:9.2f} ms")


async def transcription_bench(calls: int, rounds: int) -> None:
    lit = litellm_module()
    with FakeOpenAI() as fake:
        async with running_emulator() as tg:
            settings = make_settings(tg, fake)
            storage = open_memory_storage()
            bot_llm = create_llm_provider(
                settings, storage, AccessAuthority(settings.access, storage)
            )
            app = create_app(settings, storage=storage, bot=make_bot(tg), llm=bot_llm)
            common = {"api_base": fake.base_url, "api_key": "sk-test", "num_retries": 0}
            model = "openai/gpt-4o-mini-transcribe"

            async def raw() -> object:
                return await lit.atranscription(model=model, file=("v.ogg", AUDIO), **common)

            async def ours() -> object:
                return await bot_llm.atranscribe(AUDIO, user_id=FRIEND_ID, duration_seconds=1)

            friend = tg.user(FRIEND_ID, "Fred")

            async def bot_path() -> object:
                mark = len(friend.chat.bot_messages)
                await friend.send_voice(AUDIO, duration=1)
                return await tg.wait_until(
                    lambda: any(m.text.startswith("🎙") for m in friend.chat.bot_messages[mark:]),
                    timeout=30,
                )

            for fn in (raw, ours):
                await timed(fn, 5)
            seq_raw, seq_ours, whole = [], [], []
            async with run_polling(app.dispatcher, app.bot, tg):
                await bot_path()  # warm the bot's path
                await tg.wait_quiet()
                for _ in range(rounds):
                    seq_raw.append(await timed(raw, calls))
                    seq_ours.append(await timed(ours, calls))
                    one = []
                    for _ in range(max(3, calls // 10)):
                        started = time.perf_counter()
                        await bot_path()
                        one.append((time.perf_counter() - started) * 1000)
                        await tg.wait_quiet()  # the answer to the transcript is not timed
                    whole.append(statistics.median(one))
            await storage.close()
    med = statistics.median
    print(f"\ntranscription ({model}, {len(AUDIO)} bytes), median of {rounds} rounds")
    report(f"sequential, {calls} calls (per call)", med(seq_raw), med(seq_ours))
    report("voice note -> quoted transcript", med(seq_raw), med(whole), "bot    ")


async def main(pages: int, calls: int, rounds: int) -> None:
    await asyncio.to_thread(warm_up)
    await pdf_bench(pages, rounds)
    await transcription_bench(calls, rounds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.pages, args.calls, args.rounds))
