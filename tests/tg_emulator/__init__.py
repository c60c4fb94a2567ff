"""Telegram Bot API emulator for end-to-end tests.

The real aiogram ``Bot`` talks to :class:`TelegramEmulator` over HTTP on 127.0.0.1, so
aiogram raises its real exceptions on Telegram's real error wording. Example::

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

The test API
------------
Start (``fixtures``): ``emulator_fixture()`` (a pytest fixture), ``running_emulator()``,
``make_bot(emu)``, ``run_polling(dp, bot, emu)``.

People (``users``): ``emu.user(id, first_name, username=, language_code=)`` -> SimUser;
``emu.group(id, title)`` -> SimGroup. A SimUser ``send``s text, ``send_in(group, ...)``,
``send_photo``/``send_document``/``send_voice``/``send_audio``/``send_video_note``/
``send_sticker`` (files are served by getFile and downloads), ``edit``s its message,
``press``es an inline button (by text or callback_data; returns the CallbackAnswer),
``send_callback``s any data, makes an ``inline_query``, and can ``block()`` the bot.

What the bot sent: ``await emu.wait_for_message(chat_id, predicate)``; ``emu.chat(id)``
(ChatState: ``messages``, ``bot_messages``, ``last_bot_message``, ``texts()``, ``drafts``,
``current_draft``, ``actions``, ``reply_keyboard``); EmuMessage (``text``, ``entities``,
``entity_texts()``, ``buttons``, ``button_texts``, ``edits``, ``media``); ``emu.drafts(id)``,
``emu.commands(scope, language_code)``, ``emu.file(file_id)``, ``emu.callback_answers``.

The call log: ``emu.calls(method, chat_id=, ok=, since=emu.mark())`` -> ApiCall list;
``emu.served_429``, ``emu.generic_calls``, ``emu.errors`` (internal bugs: the fixture fails
the test on any), ``emu.unknown_methods``. Waiting: ``emu.wait_until(predicate)``,
``emu.wait_quiet()``.

Faults: ``emu.fail_next(method, code, retry_after=, description=, times=, when=, delay=)``,
``emu.clear_faults()``, ``emu.refuse_drafts()``, ``emu.flood_limits = FloodLimits(...)``
(a realistic limiter; ``flood_429_count``, ``flood_events``), ``user.block()``.

Delivery: long polling by default; ``emu.deliver_to(urls, secret_token)`` pushes updates by
webhook (``emu.webhook_deliveries``); ``emu.enqueue_update(raw)``, ``emu.issue_query_id()``
and ``emu.execute(method, params)`` for tests that go around the bot.

Rich messages (Bot API 10.1, ``methods.rich``, ``formatting.rich``): sendRichMessage and
editMessageText's ``rich_message`` store an EmuMessage with ``kind == "rich"``,
``rich_message`` (as sent), ``rich_blocks`` and a plain ``text`` rendering; sendRichMessageDraft
records a Draft (``can_stop``, ``keep_on_stop``, ``rich_blocks``). ``emu.press_stop(chat_id,
draft_id=None)`` / ``user.stop_generation()`` press Stop (a ``stopped_message_generation``
update); ``emu.rich_messages = False`` (or ``TelegramEmulator(rich_messages=False)``) makes an
old server; ``emu.fail_next_rich(...)`` fails the next rich send; ``emu.call_counts(since=)``.

Inline and guest mode (``methods.inline``): ``user.inline_query(text)`` -> the InlineAnswer
(answerInlineQuery validated like Telegram: at most 50 results, unique ids, a results
``button``); ``user.choose(answer, result_id=None, where=group)`` posts the chosen result as an
InlineMessage (``emu.inline_messages`` by id: ``text``, ``entities``, ``edits``) and sends
``chosen_inline_result`` (with ``inline_message_id`` when the result has a keyboard; none at
all with ``emu.inline_feedback = False``); ``user.send_guest(group_or_user, text, reply_to=,
photo=, voice=)`` sends a ``guest_message`` and returns its GuestQuery, whose ``answer`` is the
InlineMessage answerGuestQuery posted. editMessageText/editMessageReplyMarkup take
``inline_message_id`` (they return True, as Telegram does).

Knobs (attributes): ``strict_html``, ``privacy_mode``, ``drafts_allowed``, ``draft_refusal``,
``rich_messages``, ``inline_feedback``.
A test may replace one method: ``emu.methods.register("getMe", handler)``.

The parts
---------
``state`` (EmulatorState: ``chats``, ``files``, ``updates`` queue, answered ``queries``, bot
profile), ``methods`` (the method table: one handler per Bot API method, one module per
area), ``executor`` (runs one call: log, faults, table), ``http_front`` (the aiohttp app),
``faults`` (programmed errors and delays, the flood limiter), ``calllog``, ``webhook``
(delivery), ``formatting`` (HTML/MarkdownV2 parsers after tdlib), ``server``
(TelegramEmulator: builds the parts and holds the test API).
"""

from .chats import ChatState
from .formatting import ParseError, entity_text, parse_html, parse_markdown_v2, utf16_len
from .formatting.rich import RICH_ERRORS, RichContent, RichError, check_rich_message
from .methods import Handler, MethodTable, Request
from .models import (
    ApiCall,
    CallbackAnswer,
    ChatAction,
    Draft,
    EmuMessage,
    FaultRule,
    FloodLimits,
    GuestQuery,
    InlineAnswer,
    InlineMessage,
    StoredFile,
    WebhookDelivery,
)
from .server import TelegramEmulator
from .state import EmulatorState
from .users import TINY_PNG, SimGroup, SimUser
from .wire import NOT_MODIFIED, RICH_PARSE_FAILED, ApiError

__all__ = [
    "NOT_MODIFIED",
    "RICH_ERRORS",
    "RICH_PARSE_FAILED",
    "TINY_PNG",
    "ApiCall",
    "ApiError",
    "CallbackAnswer",
    "ChatAction",
    "ChatState",
    "Draft",
    "EmuMessage",
    "EmulatorState",
    "FaultRule",
    "FloodLimits",
    "GuestQuery",
    "Handler",
    "InlineAnswer",
    "InlineMessage",
    "MethodTable",
    "ParseError",
    "Request",
    "RichContent",
    "RichError",
    "SimGroup",
    "SimUser",
    "StoredFile",
    "TelegramEmulator",
    "WebhookDelivery",
    "check_rich_message",
    "entity_text",
    "parse_html",
    "parse_markdown_v2",
    "utf16_len",
]
