"""Telegram Bot API emulator for end-to-end tests.

The real aiogram ``Bot`` talks to :class:`TelegramEmulator` over HTTP on 127.0.0.1
(``make_bot(emu)`` wires ``TelegramAPIServer.from_base(emu.base_url)``). Answers use Telegram's
envelope and wording, so aiogram raises its real exceptions. Example::

    async def test_chat_flow(tg: TelegramEmulator) -> None:   # tg = emulator_fixture()
        bot = make_bot(tg)
        alice = tg.user(111, "Alice", username="alice", language_code="ru")
        async with run_polling(build_dispatcher(), bot, tg):  # real long polling
            mark = tg.mark()
            await alice.send("Explain <b> tags")               # queues a message update
            reply = await tg.wait_for_message(alice.id, lambda m: "tags" in m.text)
            assert ("bold", "b") in reply.entity_texts()       # what the user sees
            assert len(tg.calls("editMessageText", since=mark)) <= 5
            tg.fail_next("sendMessage", code=429, retry_after=1)
            answer = await alice.press(reply, "Regenerate")    # waits for answerCallbackQuery
        assert tg.calls("sendMessage", ok=False)[0].status == 429

Modules: ``server`` (the app, methods, observation and fault API), ``users`` (SimUser,
SimGroup), ``models`` (dataclasses), ``formatting`` (HTML/MarkdownV2 parsers after tdlib),
``fixtures`` (pytest fixture factory, Bot factory, polling runner).
"""

from .formatting import ParseError, entity_text, parse_html, parse_markdown_v2, utf16_len
from .models import (
    ApiCall,
    CallbackAnswer,
    ChatAction,
    Draft,
    EmuMessage,
    FaultRule,
    FloodLimits,
    InlineAnswer,
    StoredFile,
    WebhookDelivery,
)
from .server import TelegramEmulator
from .state import ChatState
from .users import TINY_PNG, SimGroup, SimUser
from .wire import NOT_MODIFIED, ApiError

__all__ = [
    "NOT_MODIFIED",
    "TINY_PNG",
    "ApiCall",
    "ApiError",
    "CallbackAnswer",
    "ChatAction",
    "ChatState",
    "Draft",
    "EmuMessage",
    "FaultRule",
    "FloodLimits",
    "InlineAnswer",
    "ParseError",
    "SimGroup",
    "SimUser",
    "StoredFile",
    "TelegramEmulator",
    "WebhookDelivery",
    "entity_text",
    "parse_html",
    "parse_markdown_v2",
    "utf16_len",
]
