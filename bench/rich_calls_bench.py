"""Telegram calls per answer, rich messages against today's messages (prints, never asserts).

    uv run python bench/rich_calls_bench.py [--chars 12000] [--rounds 3]

The real bot answers a friend through the Bot API emulator and the fake model: a realistic
answer of ``--chars`` characters (headings, paragraphs, lists, a table and a formula),
streamed at the production draft pace (a preview at most every 0.4 s), once in a private
chat and once in a group, with ``TELEGRAM_RICH_MESSAGES=auto`` (Bot API 10.x) and ``off``
(drafts, entities and 4 096-character parts). Printed per chat kind and mode: the calls
by method (median over the rounds), the messages the answer became, and the final sends.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
from collections import Counter
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.bot.factory import create_app  # noqa: E402
from app.config import BotSettings  # noqa: E402
from app.storage import open_memory_storage  # noqa: E402
from tests.e2e.conftest import FRIEND_ID, make_settings  # noqa: E402
from tests.e2e.test_rich_answers import long_answer  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI, Reply  # noqa: E402
from tests.tg_emulator.fixtures import make_bot, run_polling, running_emulator  # noqa: E402

GROUP_ID = -100900
SENDS = ("sendMessage", "sendRichMessage")


async def one_answer(fake: FakeOpenAI, answer: str, *, rich: str, group: bool) -> Counter[str]:
    async with running_emulator() as tg:
        settings = make_settings(
            tg,
            fake,
            rich_messages=rich,
            bot=BotSettings(draft_interval=0.4, edit_interval=1.0, request_cooldown_seconds=3600),
        )
        storage = open_memory_storage()
        app = create_app(settings, storage=storage, bot=make_bot(tg))
        try:
            async with run_polling(app.dispatcher, app.bot, tg):
                # A model writing about 400 characters a second, a token a chunk.
                fake.script(Reply(text=answer, chunk_size=4, chunk_delay=0.01))
                friend = tg.user(FRIEND_ID, "Fred")
                chat = tg.group(GROUP_ID, "Team") if group else None
                since = len(tg.calls())
                if chat is None:
                    await friend.send("plan the year")
                else:
                    await friend.send_in(chat, "plan the year", mention_bot=True)
                chat_id = GROUP_ID if group else FRIEND_ID
                last = answer.split()[-1]
                # Done: the message with the end of the answer carries the answer buttons.
                await tg.wait_until(
                    lambda: any(
                        last in m.text and any("Regenerate" in b for b in m.button_texts)
                        for m in tg.chat(chat_id).bot_messages
                    ),
                    timeout=120,
                )
                await tg.wait_quiet(0.5)
                counts = Counter(tg.call_counts(since=since))
                counts["messages"] = len(tg.chat(chat_id).bot_messages)
                return counts
        finally:
            await storage.close()


async def main(chars: int, rounds: int) -> None:
    answer = long_answer(chars)
    print(f"one answer of {len(answer)} characters, {rounds} round(s) each, median per answer")
    with FakeOpenAI() as fake:
        for group in (False, True):
            for rich in ("off", "auto"):
                runs = [
                    await one_answer(fake, answer, rich=rich, group=group) for _ in range(rounds)
                ]
                methods = sorted({m for r in runs for m in r} - {"messages"})
                shown = ", ".join(
                    f"{m} {statistics.median(r.get(m, 0) for r in runs):g}" for m in methods
                )
                sends = statistics.median(sum(r.get(m, 0) for m in SENDS) for r in runs)
                total = statistics.median(
                    sum(v for k, v in r.items() if k != "messages") for r in runs
                )
                messages = statistics.median(r["messages"] for r in runs)
                where = "group  " if group else "private"
                print(
                    f"  {where} rich={rich:<4}: {total:g} calls, {sends:g} final sends, "
                    f"{messages:g} message(s) ({shown})"
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--chars", type=int, default=12_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(args.chars, args.rounds))
