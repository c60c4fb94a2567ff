"""One friend sends six DOCX bombs while another asks a question: the question is answered
as usual, each bomb is refused with a reason, and no reader is left running afterwards.

Before: the bombs were parsed in asyncio's default executor, where litellm and rendering
also run; the 30 s cap only stopped waiting, so the other friend's answer took minutes
and the parsing threads burned CPU after the replies. The wall clock is printed (see
bench/hostile_input_bench.py for the figures), never asserted."""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import time

from app.services.media.limits import MediaLimits
from llmdoor import AccessSettings, MediaSettings
from tests.e2e.conftest import ADMIN_ID, FRIEND_ID, StartBot
from tests.media import hostile_files
from tests.tg_emulator.server import TelegramEmulator

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PAL_ID = 201
REASONS = (
    "unpacks to far more",  # an archive bomb, judged by its directory
    "took too long",  # killed at the timeout
    "too much memory",
    "still reading your other files",  # the per-user cap
    "damaged",
)


async def _cpu_seconds_over(seconds: float) -> float:
    """CPU this process (the bot, the emulator, the test) used while idle for ``seconds``:
    a parser left running in a thread of ours would show here."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.sleep(seconds)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def _readers_alive() -> list[str]:
    return [p.name for p in multiprocessing.active_children() if p.name == "llmdoor-document"]


async def _bombs_and_a_question(
    tg: TelegramEmulator, bombs: list[bytes]
) -> tuple[float, list[str]]:
    fred = tg.user(FRIEND_ID, "Fred")
    pal = tg.user(PAL_ID, "Pal", username="pal")
    sent = [
        await fred.send_document(bomb, f"bomb{i}.docx", DOCX, caption="summarize")
        for i, bomb in enumerate(bombs)
    ]
    await asyncio.sleep(0.3)  # the bombs are being read
    started = time.perf_counter()
    await pal.send("what is the capital of Norway?")
    answer = await tg.wait_for_message(
        pal.id, lambda m: m.text == "echo: what is the capital of Norway?", timeout=30
    )
    took = time.perf_counter() - started
    assert answer.text.startswith("echo:")
    chat = tg.chat(fred.id)

    def refusals() -> list[str]:
        return [m.text for m in chat.messages if m.from_bot and any(r in m.text for r in REASONS)]

    await tg.wait_until(lambda: len(refusals()) >= len(sent), timeout=60)
    assert not [m for m in chat.messages if m.from_bot and m.text.startswith("echo:")]
    return took, refusals()


async def test_zip_bombs_do_not_hold_up_another_friends_answer(start_bot: StartBot) -> None:
    access = AccessSettings(admins=str(ADMIN_ID), friends=f"{FRIEND_ID},{PAL_ID}")
    async with start_bot(access=access) as running:
        bombs = [hostile_files.docx_bomb(40) for _ in range(6)]
        took, refusals = await _bombs_and_a_question(running.tg, bombs)
        print(f"\nanother friend's answer while 6 zip bombs were read: {took:.2f} s")
        assert all("unpacks to far more" in r or "still reading" in r for r in refusals)
        assert _readers_alive() == []
        assert await _cpu_seconds_over(1.0) < 0.5


async def test_bombs_past_the_archive_check_are_killed_at_the_timeout(
    start_bot: StartBot,
) -> None:
    # The archive check is loosened so the bombs reach the parser: 150 MB of XML cannot be
    # parsed in 256 MB, so each is stopped (by its memory limit, as damaged, or at the 2 s
    # timeout), and no reader runs on after its refusal.
    access = AccessSettings(admins=str(ADMIN_ID), friends=f"{FRIEND_ID},{PAL_ID}")
    media = MediaSettings(
        document_max_ratio=1e9,
        document_max_expanded_bytes=10**9,
        document_timeout=2.0,
        document_memory_mb=256,
    )
    async with start_bot(access=access, media=media, media_limits=MediaLimits()) as running:
        bombs = [hostile_files.docx_bomb(150)] * 6
        took, refusals = await _bombs_and_a_question(running.tg, bombs)
        print(f"\nanother friend's answer while 6 bombs were parsed and killed: {took:.2f} s")
        print("\n".join(refusals))
        await asyncio.sleep(0.5)
        assert _readers_alive() == []
        assert await _cpu_seconds_over(1.0) < 0.5
