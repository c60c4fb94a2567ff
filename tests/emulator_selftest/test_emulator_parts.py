"""The emulator's parts work on their own: the method table, the executor and fault
injection run without HTTP, and a test can add or replace one method per emulator."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramServerError

from tests.tg_emulator import EmulatorState, Request, TelegramEmulator
from tests.tg_emulator.calllog import CallLog
from tests.tg_emulator.executor import ApiExecutor
from tests.tg_emulator.faults import FaultInjector
from tests.tg_emulator.fixtures import make_bot, running_emulator
from tests.tg_emulator.methods import default_table
from tests.tg_emulator.state import BotProfile


async def test_executor_table_and_faults_work_without_http() -> None:
    state = EmulatorState(BotProfile("7:token", "parts_bot", "Parts"))
    faults, calls = FaultInjector(), CallLog()
    executor = ApiExecutor(state, default_table(), faults, calls)
    chat = state.chats.add_private(55, "Pat", None, None)

    faults.add("sendMessage", 429, retry_after=3)
    status, body = await executor.execute("SENDMESSAGE", {"chat_id": 55, "text": "<b>hi</b>"})
    assert (status, body["parameters"]) == (429, {"retry_after": 3})
    status, body = await executor.execute(
        "sendMessage", {"chat_id": 55, "text": "<b>hi</b>", "parse_mode": "HTML"}
    )
    assert status == 200 and body["result"]["from"]["username"] == "parts_bot"
    assert chat.texts() == ["hi"] and chat.messages[0].entity_texts() == [("bold", "hi")]
    assert [(c.method, c.status, c.injected) for c in calls.entries] == [
        ("SENDMESSAGE", 429, True),
        ("sendMessage", 200, False),
    ]


async def test_a_test_can_add_a_method_to_one_emulator(emu: TelegramEmulator, bot: Bot) -> None:
    async def member_count(state: EmulatorState, req: Request) -> Any:
        return 3 if state.chats.find(req.params["chat_id"]) else 0

    emu.methods.register("getChatMemberCount", member_count)
    group = emu.group(-900, "Club")
    assert await bot.get_chat_member_count(group.id) == 3
    assert "getchatmembercount" in emu.methods and emu.generic_calls == []

    # Another emulator keeps the default table: aiogram knows the method, it is not emulated.
    async with running_emulator() as other:
        other_bot = make_bot(other)
        try:
            with pytest.raises(TelegramServerError, match="does not implement"):
                await other_bot.get_chat_member_count(-900)
        finally:
            await other_bot.session.close()
