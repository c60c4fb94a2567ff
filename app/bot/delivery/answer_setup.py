"""What an ``AnswerStreamer`` is given, in three parts: where the answer goes
(``AnswerTarget``), when Telegram is called (``StreamPacing``, with the clock, sleep and
limiter that tests inject) and how the answer shows (``AnswerLook``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass
from typing import Any

from aiogram import Bot
from aiogram.types import InlineKeyboardMarkup
from aiolimiter import AsyncLimiter

from app.bot.delivery.rich_support import OFF, RichMessages
from app.bot.rendering.markdown import TELEGRAM_TEXT_LIMIT

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[Any]]


@dataclass(frozen=True)
class AnswerTarget:
    """Where the answer goes: a chat (and forum topic), replying to the asking message."""

    bot: Bot
    chat_id: int
    _: KW_ONLY
    private: bool  # previews start as drafts (private chats) or as an edited message
    reply_to_message_id: int | None = None
    thread_id: int | None = None  # the forum topic to send into
    draft_id: int | None = None  # None: a random one per streamer


@dataclass(frozen=True)
class StreamPacing:
    """When Telegram is called: the bot-wide budget every call goes through, how often a
    preview may follow the last, how often a final message is tried, and the clock and sleep
    all of it reads (injected in tests)."""

    limiter: AsyncLimiter
    _: KW_ONLY
    draft_interval: float = 0.4
    edit_interval: float = 1.0
    min_new_chars: int = 16  # fewer new characters wait, unless the preview is stale
    final_attempts: int = 12
    clock: Clock = time.monotonic
    sleep: Sleep = asyncio.sleep


@dataclass(frozen=True, kw_only=True)
class AnswerLook:
    """How the answer shows: in parts of at most ``limit``, ``empty_text`` for an empty one,
    the reasoning per ``reasoning_mode`` ("off": never shown; "on": a ``reasoning_label``
    line until the answer starts; "stream": the reasoning itself, live, in a quote above the
    answer), and ``stop_markup`` (the ⏹ Stop button) on a sent preview message only (drafts
    take no keyboard)."""

    limit: int = TELEGRAM_TEXT_LIMIT
    empty_text: str = "…"
    reasoning_mode: str = "off"
    reasoning_label: str = "💭"
    stop_markup: InlineKeyboardMarkup | None = None
    rich: RichMessages = OFF  # Bot API 10.x rich messages, when the process has them


DEFAULT_LOOK = AnswerLook()

__all__ = ["DEFAULT_LOOK", "AnswerLook", "AnswerTarget", "Clock", "Sleep", "StreamPacing"]
