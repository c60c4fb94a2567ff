"""InlineAnswerStreamer on the real aiogram Bot with a recording session: edits by
inline_message_id, paced like previews and taken only from spare send budget, a final edit
that always lands, and an answer longer than one message cut with a marker."""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.methods import TelegramMethod
from aiogram.types import MessageEntity

from app.bot.delivery.answer_setup import StreamPacing
from app.bot.delivery.inline_streaming import InlineAnswerStreamer, one_message
from app.bot.delivery.priority_limiter import PriorityLimiter
from app.bot.rendering.markdown import RenderedPart, utf16_len
from tests.bot.fake_session import NOT_MODIFIED, FakeSession, bad_request, retry_after

INLINE_ID = "AgAAAinline"
MARKER = "✂️ cut"


class InlineSession(FakeSession):
    def _default(self, method: TelegramMethod[Any]) -> Any:
        return True  # editMessageText of an inline message returns True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def streamer(
    limiter: PriorityLimiter, clock: Clock, header: RenderedPart | None = None
) -> tuple[InlineAnswerStreamer, InlineSession]:
    session = InlineSession()
    bot = Bot(token="42:TEST", session=session)

    async def sleep(seconds: float) -> None:
        clock.now += seconds

    pacing = StreamPacing(limiter, edit_interval=1.0, min_new_chars=5, clock=clock, sleep=sleep)
    return InlineAnswerStreamer(bot, INLINE_ID, pacing, cut_marker=MARKER, header=header), session


async def test_previews_are_paced_and_every_call_names_the_inline_message() -> None:
    clock = Clock()
    s, session = streamer(PriorityLimiter(1000), clock)
    text = ""
    for i in range(40):  # 4 s of streaming, a chunk every 0.1 s
        clock.now += 0.1
        text += f"word{i:02d} "
        await s.update(text)
    await s.finish(text + "**done**")
    edits = session.params("editMessageText")
    assert 3 <= len(edits) - 1 <= 5  # one preview a second at most, then the final
    assert all(e["inline_message_id"] == INLINE_ID and "chat_id" not in e for e in edits)
    final = edits[-1]
    assert final["text"].endswith("done")
    assert final["entities"][0]["type"] == "bold"  # rendered like any answer


async def test_previews_take_only_spare_budget_and_the_final_still_lands() -> None:
    clock = Clock()
    limiter = PriorityLimiter(10, burst_seconds=1.0)
    for _ in range(10):
        await limiter.acquire()  # finals used the whole burst: nothing spare
    s, session = streamer(limiter, clock)
    for i in range(5):
        clock.now += 2.0
        await s.update("some answer text " * (i + 1))
    assert session.params("editMessageText") == []
    assert s.previews_skipped == 5
    await s.finish("the whole answer")  # waits for the budget, as finals do
    assert [e["text"] for e in session.params("editMessageText")] == ["the whole answer"]


async def test_retry_after_on_a_preview_holds_previews_and_the_final_retries() -> None:
    clock = Clock()
    s, session = streamer(PriorityLimiter(1000), clock)
    session.script("editMessageText", retry_after(3, "editMessageText"))
    await s.update("first words of it")
    assert s.previews_skipped == 1
    clock.now += 1.5
    assert not s.wants_update()  # still inside Telegram's penalty
    session.script("editMessageText", retry_after(1, "editMessageText"), bad_request(NOT_MODIFIED))
    await s.finish("first words of it")
    assert len(session.params("editMessageText")) == 3  # the preview, the 429, the repeat


async def test_a_long_answer_is_cut_to_one_message_with_the_marker_and_the_header() -> None:
    header = RenderedPart("❓ q", [MessageEntity(type="blockquote", offset=0, length=3)])
    clock = Clock()
    s, session = streamer(PriorityLimiter(1000), clock, header=header)
    long = "\n\n".join(f"Paragraph {i}: " + "lorem ipsum " * 40 for i in range(30))
    await s.finish(long, footer="⏹ Stopped.")
    [final] = session.params("editMessageText")
    assert utf16_len(final["text"]) <= 4096
    assert final["text"].startswith("❓ q\n\nParagraph 0:")
    assert final["text"].endswith(f"{MARKER}\n⏹ Stopped.")
    assert final["entities"][0] == {"type": "blockquote", "offset": 0, "length": 3}


async def test_one_message_keeps_a_short_answer_whole() -> None:
    part = await one_message("short *answer*", limit=4096, cut_marker=MARKER, footer="note")
    assert part.text == "short answer\n\nnote"
    assert [e.type for e in part.entities] == ["italic"]


async def test_an_answer_that_fits_is_not_marked_cut_because_of_its_notes() -> None:
    answer = "x" * 4000
    part = await one_message(answer, limit=4096, cut_marker=MARKER, footer="n" * 50)
    assert part.text == f"{answer}\n\n{'n' * 50}"
    tight = await one_message(answer, limit=4040, cut_marker=MARKER, footer="n" * 50)
    assert tight.text.endswith(f"{MARKER}\n{'n' * 50}") and utf16_len(tight.text) <= 4040
