"""/image <prompt> (a picture, with the prompt as caption) and /voice on|off (spoken
replies to voice messages)."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from app.bot.chat.threads import answer_thread
from app.bot.media import texts
from app.bot.media.chat_action import keep_chat_action
from app.bot.rendering.error_messages import describe_llm_error
from app.bot.rendering.toggles import on_off_buttons
from app.services.media.service import Feature, MediaService
from app.storage import UserRecord
from app.storage.errors import StorageUnavailable
from llmdoor import Caller, LLMError, Role

log = logging.getLogger(__name__)

CAPTION_CHARS = 1024  # Telegram's caption limit


async def _draw(
    message: Message, bot: Bot, media: MediaService, caller: Caller, prompt: str
) -> None:
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


async def switch_voice(media: MediaService, role: Role, user_id: int, on: bool) -> str:
    """Spoken replies on or off: what to tell the user."""
    if on and not {Feature.SPEECH, Feature.TRANSCRIPTION} <= await media.features(role):
        return texts.feature_unavailable(Feature.SPEECH)
    try:
        await media.set_voice_replies(user_id, on)
    except StorageUnavailable:
        return texts.storage_down()
    return texts.voice_set(on)


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
        # "Sending a photo…" until the picture (or the error) is sent: drawing takes longer
        # than one chat action shows.
        thread = answer_thread(message)
        async with keep_chat_action(
            bot, message.chat.id, ChatAction.UPLOAD_PHOTO, thread_id=thread
        ):
            await _draw(message, bot, media, caller, prompt)

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
            on = user_record.prefs.voice_replies
            await message.reply(texts.voice_usage(on), reply_markup=on_off_buttons("voice", on))
            return
        await message.reply(await switch_voice(media, role, user_record.user_id, arg == "on"))

    return router
