"""One answer into an inline message, as the person who asked: the sink for the message and
the chat service's one-shot answer (app.services.chat.one_shot)."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import Bot
from aiolimiter import AsyncLimiter

from app.bot.inline.sink import open_inline_answer
from app.bot.rendering.markdown import RenderedPart
from app.config import BotSettings
from app.services.chat.job import ChatOutcome, ReplyContext
from app.services.chat.one_shot import OneShotRequest, answer_once
from app.services.chat.service import ChatService
from app.storage import UserRecord
from llmdoor import Caller


async def answer_inline(
    bot: Bot,
    chat: ChatService,
    settings: BotSettings,
    limiter: AsyncLimiter,
    inline_message_id: str,
    *,
    user: UserRecord,
    caller: Caller,
    text: str,
    reply: ReplyContext | None = None,
    header: RenderedPart | None = None,
    notes: Sequence[str] = (),
) -> ChatOutcome:
    sink = open_inline_answer(bot, settings, limiter, inline_message_id, header=header, notes=notes)
    request = OneShotRequest(user=user, caller=caller, text=text, reply=reply)
    return await answer_once(chat, request, sink)
