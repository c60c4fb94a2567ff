"""Chat: text (and photos for vision models) in, a streamed answer out. Thin: it turns the
update into a ChatRequest and hands it to ChatService with an AnswerStreamer as the sink."""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _
from aiolimiter import AsyncLimiter

from app.bot.chat.sink import TelegramAnswer as TelegramAnswer
from app.bot.chat.sink import open_answer
from app.bot.chat.threads import conversation_key, reply_context, thread_of
from app.bot.filters import OnLoop
from app.bot.middlewares.dialog_lock import release_dialog_lock
from app.config import Settings
from app.services.chat.job import AnswerSink, ChatRequest, ReplyContext
from app.services.chat.running import RunningAnswers
from app.services.chat.service import ChatService, buttons_message
from app.storage import UserRecord
from app.storage.errors import StorageUnavailable
from llmdoor import Attachment, Caller

log = logging.getLogger(__name__)

GROUPS = {ChatType.GROUP, ChatType.SUPERGROUP}


class AddressedToBot(Filter):
    """Private chats always; in groups only when the bot is mentioned or replied to."""

    async def __call__(self, message: Message, bot: Bot) -> bool | dict[str, str]:
        if message.chat.type == ChatType.PRIVATE:
            return True
        if message.chat.type not in GROUPS:
            return False
        me = await bot.me()
        reply = message.reply_to_message
        if reply is not None and reply.from_user is not None and reply.from_user.id == me.id:
            return True
        text = message.text or message.caption or ""
        mention = f"@{me.username}".lower() if me.username else None
        for entity in message.entities or message.caption_entities or []:
            if (
                entity.type == "mention"
                and mention
                and entity.extract_from(text).lower() == mention
            ):
                return {"bot_mention": entity.extract_from(text)}
        return False


def _strip_mention(text: str, mention: str | None) -> str:
    if not mention:
        return text
    return text.replace(mention, "").strip()


@dataclass(frozen=True)
class Answerer:
    """Everything answering one update needs, gathered once per update from the workflow
    and middleware data, so handlers stay thin."""

    bot: Bot
    user: UserRecord
    caller: Caller
    chat_service: ChatService
    settings: Settings
    limiter: AsyncLimiter
    running: RunningAnswers

    async def answer(
        self,
        message: Message,
        text: str,
        attachments: list[Attachment] | None = None,
        *,
        wrap: Callable[[AnswerSink], AnswerSink] | None = None,
    ) -> None:
        """``wrap``: a sink around the Telegram one (the media router keeps the final
        text of answers to voice notes, to speak it)."""
        private = message.chat.type == ChatType.PRIVATE
        chat_id = message.chat.id
        reply, left_buttons = await self._reply_context(message)
        with self.running.track(self.user.user_id, chat_id, thread_of(message)) as running:
            sink = open_answer(
                self.bot,
                self.settings.bot,
                self.limiter,
                chat_id=chat_id,
                private=private,
                user=self.user,
                stop_token=running.token,
                reply_to_message_id=None if private else message.message_id,
                message_thread_id=message.message_thread_id if message.is_topic_message else None,
            )
            if left_buttons is not None:
                await sink.supersede(left_buttons)  # taken off after the answer
            request = ChatRequest(
                user=self.user,
                caller=self.caller,
                chat_id=chat_id,
                text=text,
                attachments=attachments or [],
                thread_id=thread_of(message),
                message_id=message.message_id,
                reply=reply,
                stop=running.stop,
            )
            await self.chat_service.answer(request, wrap(sink) if wrap else sink)
        await sink.tidy()

    async def _reply_context(self, message: Message) -> tuple[ReplyContext | None, int | None]:
        """The replied-to message, quoted. A reply to a stored answer of another
        conversation of this user continues that conversation from there instead (and
        the message with the buttons of the conversation left is returned: they act on
        the active conversation only). An answer of the active conversation is quoted
        when the user selected part of it, else only if it is trimmed out of the history
        the model is sent."""
        replied = message.reply_to_message
        if replied is None:
            return None, None
        me = await self.bot.me()
        if replied.from_user is not None and replied.from_user.id == me.id:
            key = conversation_key(message, self.user.user_id)
            conversations = self.chat_service.conversations
            left: int | None = None
            try:
                left = buttons_message((await conversations.active(key, self.user.model)).turns)
                continued = await conversations.continue_from(key, replied.message_id)
            except StorageUnavailable:
                continued = None
            if continued is not None and continued.current:
                quoted = reply_context(message, me.id)
                if quoted is None or message.quote is not None:
                    return quoted, None  # a partial quote says what the user means
                return replace(quoted, turn=continued.index), None
            if continued is not None:
                title = continued.conversation.title or _("untitled")
                await message.reply(
                    _("↩️ Continuing the conversation «{title}» from that answer.").format(
                        title=title
                    )
                )
                return None, left  # that answer ends the history now: no need to quote it
        return reply_context(message, me.id), None


async def _with_answerer(
    handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
    event: TelegramObject,
    data: dict[str, Any],
) -> Any:
    data["answerer"] = Answerer(
        bot=data["bot"],
        user=data["user_record"],
        caller=data["caller"],
        chat_service=data["chat_service"],
        settings=data["settings"],
        limiter=data["bot_limiter"],
        running=data["running_answers"],
    )
    return await handler(event, data)


def create_chat_router() -> Router:
    router = Router(name="chat")
    router.message.filter(AddressedToBot())
    router.message.middleware(release_dialog_lock)
    router.message.middleware(_with_answerer)

    @router.message(OnLoop(F.text & ~F.text.startswith("/")))
    async def on_text(
        message: Message, answerer: Answerer, settings: Settings, bot_mention: str | None = None
    ) -> None:
        text = _strip_mention(message.text or "", bot_mention)
        if not text:
            await message.reply(_("Yes? Write your question after the mention."))
            return
        if len(text) > settings.bot.max_input_chars:
            await message.reply(
                _(
                    "✂️ Your message is too long ({length} characters; the limit is {limit}). "
                    "Please send a shorter text."
                ).format(length=len(text), limit=settings.bot.max_input_chars)
            )
            return
        await answerer.answer(message, text)

    @router.message(OnLoop(F.photo))
    async def on_photo(
        message: Message, bot: Bot, answerer: Answerer, bot_mention: str | None = None
    ) -> None:
        photo = message.photo[-1] if message.photo else None
        if photo is None:
            return
        buffer = io.BytesIO()
        try:
            await bot.download(photo, destination=buffer)
        except (TelegramAPIError, aiohttp.ClientError) as exc:
            # The error text can carry the file URL, which contains the bot token.
            log.warning("chat: photo download failed: %s", type(exc).__name__)
            await message.reply(
                _("I couldn't download this image from Telegram. Please send it again.")
            )
            return
        caption = _strip_mention(message.caption or "", bot_mention) or _("What is in this image?")
        await answerer.answer(
            message, caption, [Attachment(data=buffer.getvalue(), mime_type="image/jpeg")]
        )

    @router.message(OnLoop(F.text.startswith("/")))
    async def unknown_command(message: Message) -> None:
        if message.chat.type == ChatType.PRIVATE:
            await message.reply(_("I don't know this command. See /help."))

    @router.message()
    async def unsupported(message: Message) -> None:
        await message.reply(
            _(
                "I read text, images (for models that can see them), voice messages and "
                "files. Stickers and videos aren't supported — please send text."
            )
        )

    @router.callback_query()
    async def stale_button(query: CallbackQuery) -> None:
        # Last in line: a button no router claims (an old menu, a menu of someone else,
        # forged data) still gets an answer, so the client's spinner stops.
        await query.answer(_("This menu has expired."))

    @router.edited_message(OnLoop(F.chat.type == ChatType.PRIVATE))
    async def edited(message: Message) -> None:
        await message.reply(
            _("I don't re-answer edited messages. Send the new text as a new message.")
        )

    return router
