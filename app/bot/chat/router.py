"""Chat: text (and photos for vision models) in, a streamed answer out. Thin: it turns the
update into the question and hands it to the AnswerOpener (ChatService with an
AnswerStreamer as the sink)."""

from __future__ import annotations

import io
import logging

import aiohttp
from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from app.bot.chat.opener import AnswerOpener
from app.bot.chat.threads import AddressedToBot, is_private, strip_mention
from app.bot.filters import OnLoop
from app.bot.middlewares.dialog_lock import release_dialog_lock
from app.config import Settings
from app.storage import UserRecord
from llmdoor import Attachment, Caller

log = logging.getLogger(__name__)


def create_chat_router() -> Router:
    router = Router(name="chat")
    router.message.filter(AddressedToBot())
    router.message.middleware(release_dialog_lock)

    @router.message(OnLoop(F.text & ~F.text.startswith("/")))
    async def on_text(
        message: Message,
        bot: Bot,
        user_record: UserRecord,
        caller: Caller,
        settings: Settings,
        answer_opener: AnswerOpener,
        bot_mention: str | None = None,
    ) -> None:
        text = strip_mention(message.text or "", bot_mention)
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
        await answer_opener.answer(bot, message, user_record, caller, text)

    @router.message(OnLoop(F.photo))
    async def on_photo(
        message: Message,
        bot: Bot,
        user_record: UserRecord,
        caller: Caller,
        answer_opener: AnswerOpener,
        bot_mention: str | None = None,
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
        caption = strip_mention(message.caption or "", bot_mention) or _("What is in this image?")
        photos = [Attachment(data=buffer.getvalue(), mime_type="image/jpeg")]
        await answer_opener.answer(bot, message, user_record, caller, caption, photos)

    @router.message(OnLoop(F.text.startswith("/")))
    async def unknown_command(message: Message) -> None:
        if is_private(message.chat):
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

    return router
