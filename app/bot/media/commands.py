"""/image <prompt> (a picture, with the prompt as caption) and /voice on|off (spoken
replies to voice messages)."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from app.bot.media import texts
from app.bot.rendering.error_messages import describe_llm_error
from app.services.media.service import Feature, MediaService
from app.storage import UserRecord
from app.storage.errors import StorageUnavailable
from llmdoor import Caller, LLMError, Role

log = logging.getLogger(__name__)

CAPTION_CHARS = 1024  # Telegram's caption limit


def create_media_commands_router() -> Router:
    router = Router(name="media_commands")

    @router.message(Command("image"))
    async def image(
        message: Message,
        command: CommandObject,
        bot: Bot,
        media: MediaService,
        caller: Caller,
        role: Role,
    ) -> None:
        if Feature.IMAGE not in await media.features(role):
            await message.reply(texts.feature_unavailable(Feature.IMAGE))
            return
        prompt = (command.args or "").strip()
        if not prompt:
            await message.reply(texts.image_usage())
            return
        await bot.send_chat_action(message.chat.id, ChatAction.UPLOAD_PHOTO)
        try:
            picture = await media.image(caller, prompt)
        except LLMError as exc:
            await message.reply(describe_llm_error(exc, model_setting="LLM_IMAGE_MODEL"))
            return
        caption = prompt if len(prompt) <= CAPTION_CHARS else prompt[: CAPTION_CHARS - 1] + "…"
        photo = (
            BufferedInputFile(picture.data, filename="image.png")
            if picture.data is not None
            else str(picture.url)
        )
        try:
            await bot.send_photo(
                message.chat.id, photo, caption=caption, reply_to_message_id=message.message_id
            )
        except TelegramAPIError as exc:
            # Telegram refused the picture (a URL it cannot fetch, a size it rejects):
            # the user still gets what was paid for.
            log.warning("image: sendPhoto failed: %s", type(exc).__name__)
            if picture.url:
                await message.reply(picture.url)
            else:
                await bot.send_document(
                    message.chat.id,
                    BufferedInputFile(picture.data or b"", filename="image.png"),
                    caption=caption,
                )

    @router.message(Command("voice"))
    async def voice(
        message: Message,
        command: CommandObject,
        media: MediaService,
        role: Role,
        user_record: UserRecord,
    ) -> None:
        arg = (command.args or "").strip().lower()
        if arg not in ("on", "off"):
            await message.reply(texts.voice_usage(user_record.prefs.voice_replies))
            return
        on = arg == "on"
        features = await media.features(role)
        if on and not {Feature.SPEECH, Feature.TRANSCRIPTION} <= features:
            await message.reply(texts.feature_unavailable(Feature.SPEECH))
            return
        try:
            await media.set_voice_replies(user_record.user_id, on)
        except StorageUnavailable:
            await message.reply(texts.storage_down())
            return
        await message.reply(texts.voice_set(on))

    return router
