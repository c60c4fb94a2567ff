"""Voice notes, audio files, video notes and documents: downloaded through the Bot API,
turned into text by MediaService, then answered like a text message. /image and /voice
live in app.bot.media.commands. Every limit is checked before the download, so a
refused file costs neither traffic nor a vendor call."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp
from aiogram import Bot, F, Router
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Audio, BufferedInputFile, Document, Message, VideoNote, Voice

from app.bot.chat.opener import AnswerOpener
from app.bot.chat.threads import AddressedToBot, answer_thread, strip_mention
from app.bot.filters import OnLoop
from app.bot.media import texts
from app.bot.media.chat_action import keep_chat_action
from app.bot.middlewares.dialog_lock import release_dialog_lock
from app.bot.rendering.error_messages import describe_llm_error
from app.services.chat.answer_stream import PacedSink
from app.services.chat.job import AnswerSink, ChatFailure
from app.services.chat.service import ChatService
from app.services.media.service import AudioRefusal, Feature, MediaService
from app.services.memory.tool import MemorySink
from app.storage import UserRecord
from app.storage.errors import StorageUnavailable
from app.storage.facts import Fact
from llmdoor import (
    AUDIO_EXTENSIONS,
    AudioTooLong,
    AudioUnreadable,
    Caller,
    LLMError,
    Role,
    UsageEvent,
)

log = logging.getLogger(__name__)

Recording = Voice | Audio | VideoNote
_MB = 1024 * 1024
# Markdown marks read aloud would be noise ("asterisk asterisk").
_MARKS = re.compile(r"[*_`#>|~]+")
_SPOKEN_CHARS = 4000


async def download(bot: Bot, file: Recording | Document | str) -> bytes | None:
    """The file's bytes (a file object or a ``file_id``); None after logging why not."""
    buffer = io.BytesIO()
    try:
        await bot.download(file, destination=buffer)
    except (TelegramAPIError, aiohttp.ClientError) as exc:
        # The error text can carry the file URL, which contains the bot token.
        log.warning("media: download failed: %s", type(exc).__name__)
        return None
    return buffer.getvalue()


def _recording(message: Message) -> tuple[Recording, str] | None:
    if message.voice is not None:
        return message.voice, "voice.ogg"
    if message.video_note is not None:
        return message.video_note, "video_note.mp4"
    if message.audio is not None:
        return message.audio, message.audio.file_name or "audio.mp3"
    return None


def spoken_text(answer: str) -> str:
    text = _MARKS.sub("", answer).strip()
    if len(text) <= _SPOKEN_CHARS:
        return text
    cut = text[:_SPOKEN_CHARS]
    end = max(cut.rfind(". "), cut.rfind("\n"))
    return cut[: end + 1] if end > _SPOKEN_CHARS // 2 else cut


@dataclass
class KeepFinalText:
    """An AnswerSink that passes everything on and keeps the final answer."""

    inner: AnswerSink
    final: str | None = field(default=None)

    @property
    def shows_usage(self) -> bool:
        return self.inner.shows_usage

    async def start(self) -> None:
        await self.inner.start()

    def close(self) -> None:
        self.inner.close()

    def wants_update(self) -> bool:
        # Paced like the sink it wraps: the text is joined only when a preview could go.
        return self.inner.wants_update() if isinstance(self.inner, PacedSink) else True

    async def update(self, full_text_so_far: str) -> None:
        await self.inner.update(full_text_so_far)

    async def reasoning(self, reasoning_so_far: str) -> None:
        await self.inner.reasoning(reasoning_so_far)

    async def remembered(self, facts: Sequence[Fact]) -> None:
        if isinstance(self.inner, MemorySink):
            await self.inner.remembered(facts)

    def incognito(self) -> None:
        if isinstance(self.inner, MemorySink):
            self.inner.incognito()

    async def finish(
        self,
        final_text: str,
        *,
        cut_off: bool = False,
        stopped: bool = False,
        hit_limit: bool = False,
        reasoning: str = "",
        usage: UsageEvent | None = None,
    ) -> Sequence[int]:
        ids = await self.inner.finish(
            final_text,
            cut_off=cut_off,
            stopped=stopped,
            hit_limit=hit_limit,
            reasoning=reasoning,
            usage=usage,
        )
        if not (cut_off or stopped):
            self.final = final_text
        return ids

    async def fail(self, failure: ChatFailure) -> None:
        await self.inner.fail(failure)

    async def supersede(self, message_id: int) -> None:
        await self.inner.supersede(message_id)


async def _speak_answer(
    message: Message, bot: Bot, media: MediaService, caller: Caller, answer: str
) -> None:
    try:
        audio = await media.speak(caller, spoken_text(answer))
    except LLMError as exc:
        await message.answer(describe_llm_error(exc))
        return
    if audio.format == "opus":
        await bot.send_voice(
            message.chat.id,
            BufferedInputFile(audio.data, filename="answer.ogg"),
            reply_to_message_id=message.message_id,
        )
        return
    # Not OGG/Opus (the vendor ignored the format and it could not be converted): Telegram
    # would not play it as a voice note, so it goes as an audio file.
    extension = AUDIO_EXTENSIONS.get(audio.format, audio.format)
    await bot.send_audio(
        message.chat.id,
        BufferedInputFile(audio.data, filename=f"answer.{extension}"),
        reply_to_message_id=message.message_id,
    )


async def _wants_voice(media: MediaService, user: UserRecord, role: Role) -> bool:
    try:
        on = await media.voice_replies(user.user_id)
    except StorageUnavailable:
        on = user.prefs.voice_replies
    return on and await _has(media, Feature.SPEECH, role)


async def _has(media: MediaService, feature: Feature, role: Role) -> bool:
    return feature in await media.features(role)


async def _refuse_audio(
    message: Message, media: MediaService, size: int | None, duration: int | None
) -> bool:
    refusal = media.check_audio(duration, size)
    if refusal is None:
        return False
    limits = media.limits
    await message.reply(
        texts.audio_refused(refusal, limits.max_audio_seconds, limits.max_audio_bytes / _MB)
    )
    return True


async def _transcript(
    message: Message, bot: Bot, media: MediaService, caller: Caller, role: Role
) -> str | None:
    """The recording's text, or None after telling the user why there is none. Every
    limit is checked before the download, and the size again after it (Telegram may
    leave it out)."""
    found = _recording(message)
    if found is None:
        return None
    recording, filename = found
    if not await _has(media, Feature.TRANSCRIPTION, role):
        await message.reply(texts.feature_unavailable(Feature.TRANSCRIPTION))
        return None
    if await _refuse_audio(message, media, recording.file_size, recording.duration):
        return None
    # "Typing…" through the download and the transcription, which can take long.
    async with keep_chat_action(
        bot, message.chat.id, ChatAction.TYPING, thread_id=answer_thread(message)
    ):
        data = await download(bot, recording)
        if data is None:
            await message.reply(texts.download_failed())
            return None
        if await _refuse_audio(message, media, len(data), None):
            return None
        try:
            transcript = await media.transcribe(caller, data, filename, recording.duration)
        except AudioTooLong:
            # Measured, not as declared: the declared length passed the check above.
            limits = media.limits
            refused = texts.audio_refused(
                AudioRefusal.TOO_LONG, limits.max_audio_seconds, limits.max_audio_bytes / _MB
            )
            await message.reply(refused)
            return None
        except AudioUnreadable:
            await message.reply(texts.audio_unreadable())
            return None
        except LLMError as exc:
            await message.reply(describe_llm_error(exc))
            return None
    if not transcript.text:
        await message.reply(texts.nothing_heard())
        return None
    return transcript.text


def create_media_router() -> Router:
    router = Router(name="media")
    router.message.filter(AddressedToBot())
    router.message.middleware(release_dialog_lock)  # answers run long: /stop must get in

    @router.message(OnLoop(F.voice | F.audio | F.video_note))
    async def on_recording(
        message: Message,
        bot: Bot,
        media: MediaService,
        caller: Caller,
        role: Role,
        user_record: UserRecord,
        answer_opener: AnswerOpener,
    ) -> None:
        transcript = await _transcript(message, bot, media, caller, role)
        if transcript is None:
            return
        await message.reply(texts.quoted_transcript(transcript), parse_mode="HTML")
        kept: KeepFinalText | None = None

        def wrap(sink: AnswerSink) -> AnswerSink:
            nonlocal kept
            kept = KeepFinalText(sink)
            return kept

        await answer_opener.answer(bot, message, user_record, caller, transcript, wrap=wrap)
        spoken = message.voice is not None or message.video_note is not None
        if kept and kept.final and spoken and await _wants_voice(media, user_record, role):
            await _speak_answer(message, bot, media, caller, kept.final)

    @router.message(OnLoop(F.document))
    async def on_document(
        message: Message,
        bot: Bot,
        media: MediaService,
        caller: Caller,
        user_record: UserRecord,
        chat_service: ChatService,
        answer_opener: AnswerOpener,
        bot_mention: str | None = None,
    ) -> None:
        document = message.document
        if document is None:
            return
        if media.document_too_large(document.file_size):
            await message.reply(texts.document_too_large(media.limits.max_document_bytes / _MB))
            return
        # "Typing…" through the download and the reading (a long PDF takes a while);
        # the answer shows its own signs of life after.
        async with keep_chat_action(
            bot, message.chat.id, ChatAction.TYPING, thread_id=answer_thread(message)
        ):
            data = await download(bot, document)
            if data is None:
                await message.reply(texts.download_failed())
                return
            try:
                read = await media.read(caller, data, document.mime_type, document.file_name)
            except LLMError as exc:
                await message.reply(texts.document_error(exc))
                return
        question = strip_mention(message.caption or "", bot_mention)
        prompt = await media.adocument_prompt(
            read,
            question,
            chat_service.model_for(user_record),
            summarize=texts.summarize_request(),
        )
        if prompt.cut:
            await message.reply(texts.document_cut(read.pages_read, read.pages))
        await answer_opener.answer(bot, message, user_record, caller, prompt.text)

    return router
