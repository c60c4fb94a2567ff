"""Rich messages (Bot API 10.1) through the real aiogram Bot: limits, storage, drafts with a
Stop button, editMessageText with rich_message, the old-server switch and injected 400s."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.exceptions import TelegramBadRequest, TelegramNotFound
from aiogram.types import (
    InputRichBlockBlockQuotation,
    InputRichBlockDetails,
    InputRichBlockList,
    InputRichBlockListItem,
    InputRichBlockMathematicalExpression,
    InputRichBlockParagraph,
    InputRichBlockPreformatted,
    InputRichBlockSectionHeading,
    InputRichBlockTable,
    InputRichBlockThinking,
    InputRichMessage,
    MessageGenerationStopped,
    RichBlockTableCell,
    RichTextBold,
)

from tests.emulator_selftest.test_emulator_webhook import receiver
from tests.tg_emulator import RICH_ERRORS, TelegramEmulator
from tests.tg_emulator.fixtures import make_bot, run_polling


def para(text: Any) -> InputRichBlockParagraph:
    return InputRichBlockParagraph(text=text)


def blocks(*items: Any) -> InputRichMessage:
    return InputRichMessage(blocks=list(items))


def cell(text: str, header: bool = False) -> RichBlockTableCell:
    return RichBlockTableCell(align="left", valign="top", text=text, is_header=header or None)


def nested(depth: int) -> Any:
    """A paragraph at nesting ``depth`` (top-level blocks are at depth 1)."""
    block: Any = para("deep")
    for _ in range(depth - 1):
        block = InputRichBlockBlockQuotation(blocks=[block])
    return block


def bad(key: str, **fmt: Any) -> str:
    return "Bad Request: " + RICH_ERRORS[key].format(**fmt)


async def test_limits_answer_400_and_their_edges_pass(emu: TelegramEmulator, bot: Bot) -> None:
    user = emu.user(7001, "Rita")
    table = InputRichBlockTable(cells=[[cell(str(i)) for i in range(20)]])
    fits = {
        "text": blocks(para("x" * 32_768)),
        "blocks": blocks(*[para("p") for _ in range(500)]),
        "depth": blocks(nested(16)),
        "columns": blocks(table),
    }
    for rich in fits.values():
        await bot.send_rich_message(user.id, rich)
    wide = InputRichBlockTable(cells=[[cell(str(i)) for i in range(21)]])
    over = {
        "too_long": blocks(para("x" * 32_769)),
        "too_many_blocks": blocks(*[para("p") for _ in range(501)]),
        "too_deep": blocks(nested(17)),
        "too_many_columns": blocks(wide),
        "no_content": InputRichMessage(),
        "many_contents": InputRichMessage(html="<p>a</p>", markdown="a"),
        "empty": blocks(),
        "thinking": blocks(InputRichBlockThinking(text="hmm"), para("answer")),
    }
    for key, rich in over.items():
        with pytest.raises(TelegramBadRequest) as err:
            await bot.send_rich_message(user.id, rich)
        assert err.value.message == bad(key), key
    # list items and table rows count as blocks too
    items = [InputRichBlockListItem(blocks=[para("i")]) for _ in range(250)]
    with pytest.raises(TelegramBadRequest) as err:
        await bot.send_rich_message(user.id, blocks(InputRichBlockList(items=items)))
    assert err.value.message == bad("too_many_blocks")
    assert len(user.chat.bot_messages) == len(fits)


async def test_malformed_blocks(emu: TelegramEmulator) -> None:
    user = emu.user(7002, "Sam")
    row = {"align": "left", "valign": "top", "text": "c"}
    cases = {
        bad("unknown_block", type="marquee"): {"blocks": [{"type": "marquee", "text": "x"}]},
        bad("row_too_wide", row=2): {
            "blocks": [{"type": "table", "cells": [[row, row], [row, row, row]]}]
        },
        bad("unknown_text", type="blink"): {
            "blocks": [{"type": "paragraph", "text": {"type": "blink", "text": "x"}}]
        },
        bad("bad_block", field="text", type="paragraph"): {"blocks": [{"type": "paragraph"}]},
        bad("html", reason='can\'t find end tag for "<b>"'): {"html": "<p>x<b>open"},
        bad("html", reason='unmatched end tag "</i>", expected "</b>"'): {"html": "<b>x</i>"},
    }
    for description, rich in cases.items():
        status, body = await emu.execute(
            "sendRichMessage", {"chat_id": user.id, "rich_message": rich}
        )
        assert (status, body["description"]) == (400, description)
    assert user.chat.bot_messages == []


async def test_table_and_formula_are_stored_with_text(emu: TelegramEmulator, bot: Bot) -> None:
    user = emu.user(7003, "Tom")
    rich = blocks(
        InputRichBlockSectionHeading(text="Results", size=2),
        para(["Energy is ", RichTextBold(text="conserved"), "."]),
        InputRichBlockMathematicalExpression(expression="E = mc^2"),
        InputRichBlockTable(
            cells=[[cell("name", True), cell("value", True)], [cell("c"), cell("3e8")]],
            caption="Constants",
        ),
        InputRichBlockList(
            items=[
                InputRichBlockListItem(blocks=[para("one")]),
                InputRichBlockListItem(blocks=[para("two")]),
            ]
        ),
        InputRichBlockPreformatted(text="print(1)", language="python"),
        InputRichBlockDetails(summary="More", blocks=[para("hidden")]),
    )
    sent = await bot.send_rich_message(user.id, rich)
    assert sent.rich_message is not None and sent.text is None
    assert [b.type for b in sent.rich_message.blocks][:4] == [
        "heading",
        "paragraph",
        "mathematical_expression",
        "table",
    ]
    shown = await emu.wait_for_message(user.id, lambda m: m.text.startswith("Results"), after=0)
    assert shown.is_rich and shown.rich_source == "blocks"
    assert shown.text.split("\n") == [
        "Results",
        "Energy is conserved.",
        "E = mc^2",
        "Constants",
        "name | value",
        "c | 3e8",
        "one",
        "two",
        "print(1)",
        "More",
        "hidden",
    ]
    assert shown.rich_blocks is not None and shown.rich_blocks[3]["type"] == "table"
    assert shown.rich_blocks[3]["cells"][1][1]["text"] == "3e8"
    mark = emu.mark()
    html = await bot.send_rich_message(
        user.id, InputRichMessage(html="<h1>Title</h1><p>a &amp; <b>b</b></p><ul><li>x</li></ul>")
    )
    assert html.rich_message is not None
    md = await bot.send_rich_message(user.id, InputRichMessage(markdown="# Head\n\n- **item**\n"))
    assert md.rich_message is not None
    assert [m.text for m in user.chat.bot_messages[-2:]] == ["Title\na & b\nx", "Head\nitem"]
    assert emu.call_counts(since=mark) == {"sendRichMessage": 2}


async def test_draft_stop_reaches_the_dispatcher(emu: TelegramEmulator) -> None:
    user = emu.user(7004, "Uma")
    stops: list[MessageGenerationStopped] = []
    router = Router()

    @router.stopped_message_generation()
    async def on_stop(event: MessageGenerationStopped) -> None:
        stops.append(event)

    dp = Dispatcher()
    dp.include_router(router)
    bot = make_bot(emu)
    async with run_polling(dp, bot, emu):
        draft = blocks(InputRichBlockThinking(text="planning"), para("partial"))
        await bot.send_rich_message_draft(user.id, 5, draft, can_stop=True)
        shown = user.chat.current_draft
        assert shown is not None and shown.is_rich and shown.can_stop
        assert shown.text == "planning\npartial"
        update = user.stop_generation()
        assert update["stopped_message_generation"]["draft_id"] == 5
        await emu.wait_until(lambda: stops)
        assert stops[0].draft_id == 5 and stops[0].chat.id == user.id
        assert stops[0].message_thread_id is None
        assert user.chat.current_draft is None  # gone: keep_on_stop was not set
        await bot.send_rich_message_draft(user.id, 6, blocks(para("no stop button")))
        with pytest.raises(AssertionError, match="can_stop"):
            user.stop_generation()
        await bot.send_rich_message_draft(
            user.id, 8, blocks(para("kept")), can_stop=True, keep_on_stop=True
        )
        emu.press_stop(user.id, draft_id=8)
        await emu.wait_until(lambda: len(stops) == 2)
        kept = user.chat.current_draft
        assert kept is not None and kept.stopped and kept.text == "kept"
        group = emu.group(-1007004, "G")
        with pytest.raises(TelegramBadRequest, match="TEXTDRAFT_PEER_INVALID"):
            await bot.send_rich_message_draft(group.id, 9, blocks(para("x")))  # type: ignore[arg-type]


async def test_edit_with_rich_message(emu: TelegramEmulator, bot: Bot) -> None:
    user = emu.user(7005, "Vic")
    plain = await bot.send_message(user.id, "streaming…")
    rich = blocks(InputRichBlockSectionHeading(text="Done", size=1), para("answer"))
    edited = await bot.edit_message_text(
        chat_id=user.id, message_id=plain.message_id, rich_message=rich
    )
    assert not isinstance(edited, bool) and edited.rich_message is not None
    stored = user.chat.last_bot_message
    assert stored is not None and stored.is_rich
    assert (stored.text, stored.edits) == ("Done\nanswer", ["streaming…"])
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(chat_id=user.id, message_id=plain.message_id, rich_message=rich)
    with pytest.raises(TelegramBadRequest) as err:
        await bot.edit_message_text(
            chat_id=user.id, message_id=plain.message_id, rich_message=blocks(nested(17))
        )
    assert err.value.message == bad("too_deep")
    await bot.edit_message_text("plain again", chat_id=user.id, message_id=plain.message_id)
    assert (stored.kind, stored.text, stored.rich_blocks) == ("text", "plain again", None)


async def test_old_server_and_injected_failure(emu: TelegramEmulator, bot: Bot) -> None:
    user = emu.user(7006, "Wes")
    rich = blocks(para("hello"))
    emu.rich_messages = False
    with pytest.raises(TelegramNotFound) as err:
        await bot.send_rich_message(user.id, rich)
    assert err.value.message == "Not Found"
    with pytest.raises(TelegramNotFound):
        await bot.send_rich_message_draft(user.id, 1, rich)
    plain = await bot.send_message(user.id, "text")
    # An old server ignores the unknown parameter: the text is missing.
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.edit_message_text(chat_id=user.id, message_id=plain.message_id, rich_message=rich)
    assert emu.unknown_methods == ["sendRichMessage", "sendRichMessageDraft"]
    emu.rich_messages = True
    emu.fail_next_rich()
    with pytest.raises(TelegramBadRequest) as err:
        await bot.send_rich_message(user.id, rich)
    assert err.value.message == "Bad Request: can't parse rich message"
    await bot.send_rich_message_draft(user.id, 1, rich)  # drafts are not hit by default
    sent = await bot.send_rich_message(user.id, rich)  # the resend goes through
    assert sent.rich_message is not None
    assert [c.status for c in emu.calls("sendRichMessage")] == [404, 400, 200]


async def test_old_server_from_constructor() -> None:
    async with TelegramEmulator(rich_messages=False) as emu:
        bot = make_bot(emu)
        user = emu.user(7007, "Xan")
        try:
            with pytest.raises(TelegramNotFound):
                await bot.send_rich_message(user.id, blocks(para("x")))
        finally:
            await bot.session.close()
    await asyncio.sleep(0)


async def test_stop_goes_out_by_webhook_too(emu: TelegramEmulator, bot: Bot) -> None:
    user = emu.user(7008, "Yan")
    got: list[tuple[str, dict[str, Any], str | None]] = []
    async with receiver("a", got) as url:
        emu.deliver_to([url])
        await bot.send_message_draft(user.id, 3, text="plain draft", can_stop=True)
        user.stop_generation(draft_id=3)
        await emu.wait_until(lambda: got)
    stopped = got[0][1]["stopped_message_generation"]
    assert stopped == {"chat": user.chat.chat, "draft_id": 3}
