"""Rendering cannot freeze the loop: a degenerate answer ("$" x 64 000 took 6.2 s on the
event loop, growing quadratically) is rendered in bounded pieces off the loop, and every
character still arrives."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest
from aiogram import Bot
from aiolimiter import AsyncLimiter

from app.bot.delivery.answer_setup import AnswerTarget, StreamPacing
from app.bot.delivery.streaming import AnswerStreamer, stream_answer
from app.bot.rendering import pieces as render_pieces
from app.bot.rendering.markdown import render_markdown, render_preview, utf16_len
from tests.bot.fake_session import FakeSession

DEGENERATE = "$" * 64_000
# Generous: the loop ticks every 10 ms; a frozen loop showed a 6.2-s gap.
MAX_GAP = 0.5


def loop_was_free(gap: float, total: float) -> bool:
    """A frozen loop shows one gap as long as the whole work; a free one many short gaps.
    A busy machine stretches gaps, so the bound grows with the work's duration."""
    return gap < max(MAX_GAP, total / 3)


async def max_tick_gap(work: Awaitable[object]) -> tuple[float, float]:
    """Run ``work`` while a ticker measures the longest time the loop did not run it;
    returns that gap and the whole duration."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker starts before the work
    started = time.perf_counter()
    try:
        await work
    finally:
        done.set()
        await task
    return max(gaps), time.perf_counter() - started


def streamer(session: FakeSession, *, private: bool) -> AnswerStreamer:
    bot = Bot(token="42:TEST", session=session)
    return AnswerStreamer(
        AnswerTarget(bot, 777, private=private),
        StreamPacing(AsyncLimiter(1000, 1), draft_interval=0.0),
    )


def delivered(session: FakeSession) -> str:
    return "".join(p["text"] for p in session.params("sendMessage"))


async def test_degenerate_answer_does_not_block_the_loop_and_arrives_whole() -> None:
    session = FakeSession()
    gap, total = await max_tick_gap(streamer(session, private=True).finish(DEGENERATE))
    assert loop_was_free(gap, total)
    assert delivered(session) == DEGENERATE
    assert all(utf16_len(p["text"]) <= 4096 for p in session.params("sendMessage"))


async def test_degenerate_answer_streamed_with_previews_keeps_the_loop_free() -> None:
    session = FakeSession()

    async def chunks() -> AsyncIterator[str]:
        for i in range(0, len(DEGENERATE), 4000):
            yield DEGENERATE[i : i + 4000]

    gap, total = await max_tick_gap(stream_answer(streamer(session, private=True), chunks()))
    assert loop_was_free(gap, total)
    assert session.params("sendMessageDraft")  # previews were shown meanwhile
    assert delivered(session) == DEGENERATE


def test_converter_only_sees_bounded_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """The converter's worst case is quadratic in its input: it never gets a long one."""
    import telegramify_markdown

    real = telegramify_markdown.convert
    sizes: list[int] = []

    def recording(md: str, **kwargs: Any) -> Any:
        sizes.append(len(md))
        return real(md, **kwargs)

    monkeypatch.setattr(telegramify_markdown, "convert", recording)
    parts = render_markdown(DEGENERATE)
    assert "".join(p.text for p in parts) == DEGENERATE
    assert len(sizes) >= 8 and max(sizes) <= render_pieces.PIECE_CHARS


def test_preview_of_a_long_answer_converts_only_its_tail() -> None:
    body = "\n\n".join(f"Paragraph {i}: " + "lorem ipsum " * 40 for i in range(200))
    preview = render_preview(body + "\n\nthe **latest** words")
    assert preview.text.endswith("the latest words")
    assert [e.type for e in preview.entities][-1] == "bold"
