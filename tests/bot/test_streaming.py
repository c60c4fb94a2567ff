"""AnswerStreamer against the real aiogram Bot with a recording fake session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiogram import Bot
from aiolimiter import AsyncLimiter

from app.bot.delivery.answer_setup import AnswerLook, AnswerTarget, StreamPacing
from app.bot.delivery.streaming import AnswerStreamer, StreamMode, stream_answer
from app.bot.rendering.markdown import utf16_len
from tests.bot.fake_session import (
    CANT_PARSE,
    NOT_MODIFIED,
    FakeSession,
    bad_request,
    retry_after,
)

CHAT = 777


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Env:
    def __init__(self) -> None:
        self.session = FakeSession()
        self.bot = Bot(token="42:TEST", session=self.session)
        self.clock = FakeClock()
        self.sleeps: list[float] = []
        self.limiter = AsyncLimiter(1000, 1)

    async def sleep(self, seconds: float) -> None:
        # Waiting is instant in tests, but time moves on as it would.
        self.sleeps.append(seconds)
        self.clock.now += seconds

    def streamer(
        self, *, private: bool, look: AnswerLook | None = None, **pacing: Any
    ) -> AnswerStreamer:
        return AnswerStreamer(
            AnswerTarget(self.bot, CHAT, private=private, reply_to_message_id=5),
            StreamPacing(self.limiter, clock=self.clock, sleep=self.sleep, **pacing),
            look=look or AnswerLook(),
        )

    async def feed(self, s: AnswerStreamer, chunks: list[str], step: float) -> str:
        text = ""
        for chunk in chunks:
            self.clock.now += step
            text += chunk
            await s.update(text)
        return text


@pytest.fixture
def env() -> Iterator[Env]:
    yield Env()


def words(n: int) -> list[str]:
    return [f"word{i:03d} " for i in range(n)]  # 8 chars each


async def test_private_chat_streams_drafts_then_one_message(env: Env) -> None:
    s = env.streamer(private=True, draft_interval=0.4, min_new_chars=1)
    # 50 chunks, 0.1 s apart = 5 s of streaming: at most one draft per 0.4 s.
    text = await env.feed(s, ["**Bold** start. ", *words(49)], step=0.1)
    drafts = env.session.params("sendMessageDraft")
    assert 5 <= len(drafts) <= 5 / 0.4 + 1
    assert {d["draft_id"] for d in drafts} == {s.draft_id}
    assert all("parse_mode" not in d for d in drafts)
    assert drafts[0]["entities"][0]["type"] == "bold"
    assert "editMessageText" not in env.session.methods()

    messages = await s.finish(text)
    sent = env.session.params("sendMessage")
    assert len(sent) == 1 and len(messages) == 1
    assert sent[0]["text"] == text.replace("**", "").strip()
    assert sent[0]["entities"] == [{"type": "bold", "offset": 0, "length": 4}]
    assert sent[0]["reply_parameters"]["message_id"] == 5
    assert s.calls == len(env.session.calls)


async def test_drafts_need_enough_new_text_or_a_stale_preview(env: Env) -> None:
    s = env.streamer(private=True, draft_interval=0.4, min_new_chars=50)
    await env.feed(s, ["a"] * 10, step=0.5)  # 1 char per 0.5 s: slow model
    # First draft immediately, then only when 3 intervals passed without one.
    assert 2 <= len(env.session.params("sendMessageDraft")) <= 4


async def test_group_chat_sends_then_edits_throttled(env: Env) -> None:
    s = env.streamer(private=False, edit_interval=1.0)
    text = await env.feed(s, words(60), step=0.1)  # 6 s of streaming
    assert env.session.methods()[0] == "sendMessage"
    edits = env.session.params("editMessageText")
    assert 4 <= len(edits) <= 6
    assert "sendMessageDraft" not in env.session.methods()
    preview_id = s.preview_message.message_id if s.preview_message else None

    messages = await s.finish(text)
    assert [m.message_id for m in messages] == [preview_id]
    last = env.session.calls[-1]
    assert last[0] == "editMessageText" and last[1]["text"] == text.strip()
    assert len(env.session.params("sendMessage")) == 1


async def test_draft_refused_falls_back_to_edits(env: Env) -> None:
    env.session.script(
        "sendMessageDraft", bad_request("method is not available", "sendMessageDraft")
    )
    s = env.streamer(private=True)
    text = await env.feed(s, words(30), step=0.5)
    assert s.mode == StreamMode.EDIT
    methods = env.session.methods()
    assert methods.count("sendMessageDraft") == 1
    assert methods[1] == "sendMessage"  # the refused draft became a preview message at once
    assert methods.count("editMessageText") >= 3
    await s.finish(text)
    assert env.session.calls[-1][0] == "editMessageText"
    assert env.session.calls[-1][1]["text"] == text.strip()


async def test_retry_after_on_final_send_waits_and_delivers(env: Env) -> None:
    env.session.script("sendMessage", retry_after(3), retry_after(1))
    s = env.streamer(private=True)
    messages = await s.finish("the answer")
    assert env.sleeps == [3, 1]
    assert len(messages) == 1
    assert [p["text"] for p in env.session.params("sendMessage")] == ["the answer"] * 3


async def test_retry_after_on_edits_repeatedly_final_still_arrives(env: Env) -> None:
    # Every preview edit during the stream and the first final edit are refused.
    env.session.script("editMessageText", *[retry_after(2, "editMessageText") for _ in range(6)])
    s = env.streamer(private=False, edit_interval=1.0)
    text = await env.feed(s, words(40), step=0.25)  # 10 s
    edits_during_stream = len(env.session.params("editMessageText"))
    # Each RetryAfter silences previews for its 2 s: one edit per 2 s, not one per 0.25 s chunk.
    assert edits_during_stream == 5
    messages = await s.finish(text)
    assert messages and env.session.calls[-1][1]["text"] == text.strip()
    assert env.session.calls[-1][0] == "editMessageText"
    # Finishing waits out the penalty a preview earned, then each RetryAfter it meets itself.
    assert env.sleeps[-1] == 2 and all(0 < x <= 2 for x in env.sleeps)
    assert s.previews_skipped == 5 and s.calls == len(env.session.calls)


async def test_message_not_modified_is_ignored(env: Env) -> None:
    env.session.script(
        "editMessageText",
        bad_request(NOT_MODIFIED, "editMessageText"),
        bad_request(NOT_MODIFIED, "editMessageText"),
    )
    s = env.streamer(private=False)
    await env.feed(s, ["hello ", "world"], step=4.0)
    preview = s.preview_message
    assert preview is not None
    messages = await s.finish("hello world")  # the preview already shows exactly this
    assert [m.message_id for m in messages] == [preview.message_id]
    assert env.session.methods() == ["sendMessage", "editMessageText", "editMessageText"]
    assert env.sleeps == []


async def test_parse_error_on_final_resends_as_plain_text(env: Env) -> None:
    env.session.script("sendMessage", bad_request(CANT_PARSE))
    s = env.streamer(private=True)
    messages = await s.finish("**bold** and `code`")
    first, second = env.session.params("sendMessage")
    assert first["text"] == second["text"] == "bold and code"
    assert first["entities"] and "entities" not in second
    assert len(messages) == 1


async def test_long_answer_becomes_several_messages(env: Env) -> None:
    paragraphs = [f"Paragraph {i}: " + "lorem ipsum 😀 " * 40 for i in range(30)]
    md = "\n\n".join(paragraphs)
    s = env.streamer(private=True)
    messages = await s.finish(md)
    sent = env.session.params("sendMessage")
    assert len(messages) == len(sent) >= 3
    assert all(utf16_len(p["text"]) <= 4096 for p in sent)
    assert "reply_parameters" in sent[0] and all("reply_parameters" not in p for p in sent[1:])
    joined = "\n\n".join(p["text"] for p in sent)
    assert joined.split() == md.split()


async def test_long_group_answer_edits_first_part_and_sends_the_rest(env: Env) -> None:
    md = "\n\n".join("lorem ipsum dolor " * 30 for _ in range(20))
    s = env.streamer(private=False)
    await s.update(md[:100])
    messages = await s.finish(md)
    methods = env.session.methods()
    assert methods[0] == "sendMessage" and methods[1] == "editMessageText"
    assert methods[2:] == ["sendMessage"] * (len(messages) - 1)
    assert len(messages) >= 3


async def test_footer_is_appended_plain(env: Env) -> None:
    s = env.streamer(private=True)
    await s.finish("**Answer**", footer="⚠️ the answer was cut off")
    (sent,) = env.session.params("sendMessage")
    assert sent["text"] == "Answer\n\n⚠️ the answer was cut off"
    assert sent["entities"] == [{"type": "bold", "offset": 0, "length": 6}]


async def test_footer_that_does_not_fit_gets_its_own_message(env: Env) -> None:
    s = env.streamer(private=True, look=AnswerLook(limit=20))
    await s.finish("x" * 18, footer="cut off")
    assert [p["text"] for p in env.session.params("sendMessage")] == ["x" * 18, "cut off"]


async def test_empty_answer_sends_placeholder(env: Env) -> None:
    s = env.streamer(private=True, look=AnswerLook(empty_text="(empty)"))
    await s.finish("  ")
    assert env.session.params("sendMessage")[0]["text"] == "(empty)"


async def test_fail_replaces_the_preview(env: Env) -> None:
    s = env.streamer(private=False)
    await s.update("partial answer")
    await s.fail("Sorry, the model failed")
    assert env.session.calls[-1][0] == "editMessageText"
    assert env.session.calls[-1][1]["text"] == "Sorry, the model failed"
    await s.update("more text after failure")  # ignored
    assert env.session.calls[-1][1]["text"] == "Sorry, the model failed"


async def test_fail_in_private_sends_a_message_and_never_raises(env: Env) -> None:
    from aiogram.exceptions import TelegramForbiddenError

    from tests.bot.fake_session import _method

    s = env.streamer(private=True)
    await s.update("partial")
    await s.fail("Sorry")
    name, params = env.session.calls[-1]
    assert name == "sendMessage" and params["text"] == "Sorry"
    assert "entities" not in params and "parse_mode" not in params
    env.session.script("sendMessage", TelegramForbiddenError(_method("sendMessage"), "blocked"))
    await env.streamer(private=True).fail("Sorry")  # logged, not raised


async def test_preview_errors_never_raise(env: Env) -> None:
    from aiogram.exceptions import TelegramNetworkError

    from tests.bot.fake_session import _method

    env.session.script(
        "sendMessageDraft",
        TelegramNetworkError(_method("sendMessageDraft"), "timeout"),
        bad_request(CANT_PARSE, "sendMessageDraft"),
    )
    s = env.streamer(private=True)
    await s.update("**first**")
    env.clock.now += 5
    await s.update("**first** second")  # formatting refused: the preview is resent plain
    drafts = env.session.params("sendMessageDraft")
    assert len(drafts) == 3
    assert drafts[1]["entities"] and "entities" not in drafts[2]
    assert s.mode == StreamMode.DRAFT


async def test_busy_global_limiter_skips_previews_but_not_the_final(env: Env) -> None:
    env.limiter = AsyncLimiter(1, 0.2)
    await env.limiter.acquire()  # another conversation used the whole budget
    s = env.streamer(private=True)
    await s.update("preview text")
    assert env.session.calls == [] and s.previews_skipped == 1
    await s.finish("final text")  # waits for capacity instead of skipping
    assert env.session.methods() == ["sendMessage"]


async def test_typing_indicator_and_stream_answer(env: Env) -> None:
    s = env.streamer(private=True)
    await s.start()

    async def chunks() -> AsyncIterator[str]:
        for piece in ["Hello", ", ", "", "**world**"]:
            env.clock.now += 1
            yield piece

    text = await stream_answer(s, chunks(), footer="(note)")
    assert text == "Hello, **world**"
    methods = env.session.methods()
    assert methods[0] == "sendChatAction" and methods[-1] == "sendMessage"
    assert env.session.calls[-1][1]["text"] == "Hello, world\n\n(note)"
    assert s.calls == len(env.session.calls)


def _network_error(name: str, cause: BaseException) -> Exception:
    from aiogram.exceptions import TelegramNetworkError

    from tests.bot.fake_session import _method

    error = TelegramNetworkError(_method(name), f"{type(cause).__name__}: {cause}")
    error.__cause__ = cause  # as aiogram's session raises it (``from e``)
    return error


async def test_a_final_send_is_repeated_only_when_it_surely_did_not_reach_telegram(
    env: Env,
) -> None:
    import aiohttp

    from app.bot.delivery.stream_calls import DeliveryUncertain

    # The connection was never made: Telegram has not seen it, so it is sent again.
    env.session.script(
        "sendMessage", _network_error("sendMessage", aiohttp.ConnectionTimeoutError("connect"))
    )
    messages = await env.streamer(private=True).finish("answer one")
    assert len(env.session.params("sendMessage")) == 2 and len(messages) == 1
    # The answer was lost after sending (a read timeout, a dropped connection): Telegram
    # may have delivered it, so it is not sent again.
    for cause in (TimeoutError(), aiohttp.ServerDisconnectedError()):
        before = len(env.session.params("sendMessage"))
        env.session.script("sendMessage", _network_error("sendMessage", cause))
        with pytest.raises(DeliveryUncertain):
            await env.streamer(private=True).finish("answer two")
        assert len(env.session.params("sendMessage")) == before + 1


async def test_a_final_edit_is_repeated_after_any_network_error(env: Env) -> None:
    s = env.streamer(private=False, edit_interval=1.0)
    await s.update("preview")
    env.session.script("editMessageText", _network_error("editMessageText", TimeoutError()))
    messages = await s.finish("the final text")
    # An edit repeated lands on the same message: nothing can be duplicated.
    assert len(env.session.params("editMessageText")) == 2
    assert len(messages) == 1 and len(env.session.params("sendMessage")) == 1
