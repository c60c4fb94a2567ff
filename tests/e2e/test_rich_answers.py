"""Answers as Bot API 10.x rich messages, end to end through the emulator: tables and
formulas as Telegram renders them, drafts with Telegram's own Stop button, reasoning that
thinks in the draft and ends collapsed, groups with rich edits, and every way back to
today's messages (an old server, a refused rich message) with nothing lost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from app.bot.rendering.rich import RICH_LIMITS
from app.storage import UsageRecord
from tests.e2e.conftest import FRIEND_ID, Running, StartBot
from tests.fakes.openai_server import Reply
from tests.tg_emulator import EmuMessage

GROUP_ID = -100777

TABLE = "\n".join(
    [
        "| Region | Q1 | Q2 | Q3 | Q4 |",
        "|---|---|---|---|---|",
        *(f"| Region {i} | {i * 10} | {i * 11} | {i * 12} | {i * 13} |" for i in range(1, 13)),
    ]
)
FORMULA = "$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$"


def long_answer(chars: int, *, with_table: bool = True) -> str:
    """A realistic model answer of about ``chars`` characters: headings, paragraphs, a
    list, a table and a display formula."""
    sections = []
    i = 0
    while sum(len(s) for s in sections) < chars:
        i += 1
        sections.append(
            f"## Part {i}\n\n"
            + " ".join(f"Sentence {i}.{j} explains one more detail of the plan." for j in range(8))
            + f"\n\n- point {i}a\n- point {i}b\n\n"
        )
        if i == 2 and with_table:
            sections.append(TABLE + "\n\n" + FORMULA + "\n\n")
    return "".join(sections).strip()


def blocks_of(message: EmuMessage) -> list[dict[str, Any]]:
    assert message.is_rich, f"not a rich message: {message.text[:80]!r}"
    return list(message.rich_blocks)


def block_types(message: EmuMessage) -> list[str]:
    return [b["type"] for b in blocks_of(message)]


def words(text: str) -> list[str]:
    return text.replace("|", " ").split()


def rich(start_bot: StartBot) -> Any:
    """The bot with rich messages on. Rich answers convert whole answers of up to 40 KB
    on a loaded machine: the model call gets the production-like margin of 30 s instead
    of the suite's 5 s, so a slow moment is not mistaken for a model timeout."""
    return start_bot(rich_messages="auto", llm_timeout=30)


async def usage_records(
    running: Running, user_id: int, until: Callable[[list[UsageRecord]], bool]
) -> list[UsageRecord]:
    for _ in range(200):
        records = [r async for r in running.storage.usage.iter_records(user_id=user_id)]
        if until(records):
            return records
        await asyncio.sleep(0.05)
    raise AssertionError("usage records never matched")


async def test_a_long_answer_with_a_table_and_a_formula_is_one_rich_message(
    start_bot: StartBot,
) -> None:
    answer = long_answer(12_000)
    assert len(answer) >= 12_000
    async with rich(start_bot) as running:
        tg, fake = running.tg, running.fake_llm
        fake.script(Reply(text=answer))
        friend = tg.user(FRIEND_ID, "Fred")
        since = len(tg.calls())
        await friend.send("plan the year")
        final = await tg.wait_for_message(FRIEND_ID, lambda m: "Part 1" in m.text, timeout=90)
        await tg.wait_quiet()
        assert len(friend.chat.bot_messages) == 1  # one message, not three 4096 parts
        types = block_types(final)
        assert "table" in types and "mathematical_expression" in types
        table = next(b for b in blocks_of(final) if b["type"] == "table")
        assert len(table["cells"]) == 13 and all(len(row) == 5 for row in table["cells"])
        formula = next(b for b in blocks_of(final) if b["type"] == "mathematical_expression")
        assert "\\int_0^1" in str(formula)
        # Nothing lost: every word of the answer (without its Markdown marks) is shown.
        source = answer.replace("#", " ").replace("- ", " ").replace("$$", " ")
        assert set(words(source)) - set(words(final.text)) <= {"---"}  # the table's rule
        counts = tg.call_counts(since=since)
        assert counts.get("sendRichMessage") == 1 and "sendMessage" not in counts
        assert final.button_texts  # the answer controls stay under the final message


async def test_native_stop_cuts_the_stream_keeps_the_partial_and_records_it(
    start_bot: StartBot,
) -> None:
    full = " ".join(f"token{i}" for i in range(400))
    async with rich(start_bot) as running:
        tg, fake = running.tg, running.fake_llm
        fake.script(Reply(text=full, chunk_size=6, chunk_delay=0.02))
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("long please")
        await tg.wait_until(
            lambda: any(
                d.is_rich and d.can_stop and "token" in d.text for d in tg.drafts(FRIEND_ID)
            )
        )
        friend.stop_generation()  # Telegram's own Stop under the draft
        await friend.send("/stop")  # ... racing /stop: one stop, one answer, one record
        final = await tg.wait_for_message(FRIEND_ID, lambda m: "Stopped" in m.text)
        kept = final.text.split("⏹ Stopped.")[0].strip()
        assert kept and full.startswith(kept) and len(kept) < len(full)
        await tg.wait_quiet()
        answers = [m for m in friend.chat.bot_messages if not m.text.startswith("Nothing to")]
        assert answers == [final]
        records = await usage_records(running, FRIEND_ID, lambda rs: len(rs) >= 1)
        await tg.wait_quiet(0.3)
        records = [r async for r in running.storage.usage.iter_records(user_id=FRIEND_ID)]
        assert len(records) == 1
        assert records[0].outcome == "partial" and records[0].completion_tokens > 0
        conv = await running.storage.conversations.active(FRIEND_ID, FRIEND_ID)
        assert conv.turns[-1].content.strip() == kept  # the partial is the answer kept
        # Over: a late press of either finds nothing left to stop.
        await friend.send("/stop")
        await tg.wait_for_message(
            FRIEND_ID, lambda m: m.text.startswith("Nothing to stop"), after=final.message_id
        )


async def test_reasoning_thinks_in_the_draft_and_ends_collapsed_outside_the_history(
    start_bot: StartBot,
) -> None:
    async with rich(start_bot) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("/reasoning stream")
        await tg.wait_for_message(FRIEND_ID, lambda m: "reasoning" in m.text.lower())
        reasoning = " ".join(f"step{i}" for i in range(60))
        fake.script(Reply(text="The answer is 42.", reasoning=reasoning, chunk_delay=0.02))
        await friend.send("what is it?")
        final = await tg.wait_for_message(FRIEND_ID, lambda m: "The answer is 42." in m.text)
        thinking = [
            d
            for d in tg.drafts(FRIEND_ID)
            if d.is_rich and any(b["type"] == "thinking" for b in d.rich_blocks)
        ]
        assert thinking, "no draft showed the thinking block"
        assert any("step" in d.text for d in tg.drafts(FRIEND_ID))  # /reasoning stream
        details = [b for b in blocks_of(final) if b["type"] == "details"]
        assert details and not details[0].get("is_open")
        assert block_types(final)[0] == "details"  # above the answer, collapsed
        conv = await running.storage.conversations.active(FRIEND_ID, FRIEND_ID)
        assert conv.turns[-1].content == "The answer is 42."  # no reasoning in the history


async def test_a_group_answer_is_rich_with_throttled_rich_edits(start_bot: StartBot) -> None:
    answer = "## Findings\n\n" + " ".join(f"word{i}" for i in range(300))
    async with rich(start_bot) as running:
        tg, fake = running.tg, running.fake_llm
        friend = tg.user(FRIEND_ID, "Fred")
        group = tg.group(GROUP_ID, "Team")
        fake.script(Reply(text=answer, chunk_size=8, chunk_delay=0.01))
        since = len(tg.calls())
        await friend.send_in(group, "findings please", mention_bot=True)
        final = await tg.wait_for_message(group.id, lambda m: "word299" in m.text)
        await tg.wait_quiet()
        counts = tg.call_counts(since=since)
        assert counts.get("sendRichMessage") == 1  # the preview, edited into the answer
        edits = [c for c in tg.calls("editMessageText", since=since) if "rich_message" in c.params]
        assert edits, "previews were not rich edits"
        chunks = len(answer) / 8
        assert len(edits) < chunks / 3  # throttled: far fewer edits than model chunks
        assert block_types(final)[0] == "heading"
        assert final.button_texts


async def test_an_old_server_gets_todays_messages_with_nothing_lost(start_bot: StartBot) -> None:
    answer = long_answer(9_000)
    async with rich(start_bot) as running:
        tg, fake = running.tg, running.fake_llm
        tg.rich_messages = False
        fake.script(Reply(text=answer))
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("plan the year")
        last = answer.split()[-1]
        await tg.wait_until(
            lambda: any(last in m.text for m in friend.chat.bot_messages), timeout=90
        )
        await tg.wait_quiet()
        parts = friend.chat.bot_messages
        assert len(parts) >= 3 and not any(m.is_rich for m in parts)  # 4096-character parts
        shown = " ".join(m.text for m in parts)
        for i in range(1, 13):
            assert f"Region {i}" in shown
        assert "Sentence 3.7 explains" in shown
        # The next answer does not try rich again: the process knows the server.
        since = len(tg.calls())
        fake.script(Reply(text="short one"))
        await friend.send("again")
        await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "short one")
        assert "sendRichMessage" not in tg.call_counts(since=since)
        assert "sendRichMessageDraft" not in tg.call_counts(since=since)


async def test_a_40000_character_answer_is_split_at_block_boundaries(start_bot: StartBot) -> None:
    answer = long_answer(40_000)
    async with rich(start_bot) as running:
        tg, fake = running.tg, running.fake_llm
        fake.script(Reply(text=answer))
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("everything please")
        last = answer.split()[-1]
        await tg.wait_until(
            lambda: any(last in m.text for m in friend.chat.bot_messages), timeout=90
        )
        await tg.wait_quiet()
        parts = friend.chat.bot_messages
        assert len(parts) >= 2 and all(m.is_rich for m in parts)
        for part in parts:
            assert len(part.text) <= RICH_LIMITS.max_chars
            assert len(part.rich_blocks) <= RICH_LIMITS.max_blocks
        # Block boundaries: every section heading arrives whole, none is cut in two.
        headings = [b for p in parts for b in p.rich_blocks if b["type"] == "heading"]
        assert len(headings) == answer.count("## Part ")
        shown = " ".join(p.text for p in parts)
        assert all(f"Sentence {i}.7 explains" in shown for i in (1, 20, answer.count("## Part ")))
        assert parts[-1].button_texts and not parts[0].button_texts


async def test_a_refused_rich_message_is_resent_the_old_way(start_bot: StartBot) -> None:
    async with rich(start_bot) as running:
        tg, fake = running.tg, running.fake_llm
        tg.fail_next_rich()
        fake.script(Reply(text="**Bold** claim with a table\n\n" + TABLE))
        friend = tg.user(FRIEND_ID, "Fred")
        since = len(tg.calls())
        await friend.send("claim")
        final = await tg.wait_for_message(FRIEND_ID, lambda m: "Bold claim" in m.text)
        assert not final.is_rich and "Region 12" in final.text
        counts = tg.call_counts(since=since)
        assert counts.get("sendRichMessage") == 1 and counts.get("sendMessage") == 1
        # A refusal says nothing about the server: the next answer is rich again.
        fake.script(Reply(text="next"))
        await friend.send("again")
        again = await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "next")
        assert again.is_rich


async def test_help_and_me_are_rich_where_they_read_better(start_bot: StartBot) -> None:
    async with rich(start_bot) as running:
        tg = running.tg
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("/help")
        help_ = await tg.wait_for_message(FRIEND_ID, lambda m: "/new" in m.text)
        assert "list" in block_types(help_)  # the commands as a list
        assert "/image <prompt>" in help_.text or "/image" not in help_.text  # text, not HTML
        assert "Current model" in help_.text
        await friend.send("/me")
        me = await tg.wait_for_message(FRIEND_ID, lambda m: "Your spend" in m.text)
        table = next(b for b in blocks_of(me) if b["type"] == "table")
        assert len(table["cells"]) >= 3 and "Today" in me.text and "$" in me.text
