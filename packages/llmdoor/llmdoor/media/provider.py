"""The media half of LLMProvider's facade: transcribe, speak, generate_image and
read_document, async and sync, each a thin call into its own module on the shared
pipeline (access, budget reservation, retries, one usage event of its kind)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Unpack

from llmdoor.calls.transport import ASYNC, Transport, sync_transport
from llmdoor.media import documents, images, speech, transcription
from llmdoor.media.call import MediaOptions
from llmdoor.media.documents import DocumentText
from llmdoor.media.images import GeneratedImage
from llmdoor.media.speech import SpeechAudio
from llmdoor.media.transcription import AudioInput, Transcript

if TYPE_CHECKING:
    from llmdoor.calls.pipeline import Pipeline
    from llmdoor.media.settings import MediaSettings


class MediaMethods:
    pipeline: Pipeline
    media: MediaSettings

    # ---- async -----------------------------------------------------------------------

    async def atranscribe(
        self,
        audio: AudioInput,
        model: str | None = None,
        *,
        filename: str | None = None,
        language: str | None = None,
        duration_seconds: float | None = None,
        max_seconds: float | None = None,
        **options: Unpack[MediaOptions],
    ) -> Transcript:
        """Speech to text (bytes or a path), with the vendor's language guess. The length
        is measured locally; the larger of it and ``duration_seconds`` (a declared length)
        sizes the budget reservation and is held to ``max_seconds`` (AudioTooLong). Bytes
        that are not audio: AudioUnreadable, before any vendor call."""
        return await self._transcribe(
            audio, model, filename, language, duration_seconds, dict(options), ASYNC,
            max_seconds,
        )  # fmt: skip

    async def aspeak(
        self,
        text: str,
        voice: str | None = None,
        model: str | None = None,
        *,
        audio_format: str = "opus",
        **options: Unpack[MediaOptions],
    ) -> SpeechAudio:
        """Text to speech; OGG/Opus by default (ready for Telegram's sendVoice)."""
        return await speech.speak(
            self.pipeline, self.media, ASYNC, text, voice, model,
            audio_format=audio_format, options=dict(options),
        )  # fmt: skip

    async def agenerate_image(
        self,
        prompt: str,
        size: str | None = None,
        model: str | None = None,
        *,
        quality: str | None = None,
        **options: Unpack[MediaOptions],
    ) -> GeneratedImage:
        """One picture: bytes, or a URL where the vendor answers with one."""
        return await images.generate_image(
            self.pipeline, self.media, ASYNC, prompt, size, model,
            quality=quality, options=dict(options),
        )  # fmt: skip

    async def aread_document(
        self,
        data: bytes,
        mime_type: str | None = None,
        filename: str | None = None,
        *,
        max_pages: int | None = None,
        **options: Unpack[MediaOptions],
    ) -> DocumentText:
        """Markdown of a PDF, DOCX, HTML, CSV, text or source file, with its page or
        section structure; typed DocumentError subclasses for what cannot be read."""
        return await documents.read_document(
            self.pipeline, self.media, data, mime_type, filename,
            max_pages=max_pages, options=dict(options),
        )  # fmt: skip

    async def _transcribe(
        self,
        audio: AudioInput,
        model: str | None,
        filename: str | None,
        language: str | None,
        duration_seconds: float | None,
        options: dict[str, Any],
        transport: Transport,
        max_seconds: float | None = None,
    ) -> Transcript:
        return await transcription.transcribe(
            self.pipeline, self.media, transport, audio, model,
            filename=filename, language=language, duration_seconds=duration_seconds,
            options=options, max_seconds=max_seconds,
        )  # fmt: skip

    # ---- sync twins ------------------------------------------------------------------

    def transcribe(
        self,
        audio: AudioInput,
        model: str | None = None,
        *,
        filename: str | None = None,
        language: str | None = None,
        duration_seconds: float | None = None,
        max_seconds: float | None = None,
        **options: Unpack[MediaOptions],
    ) -> Transcript:
        t = sync_transport()
        return t.run(
            self._transcribe(
                audio, model, filename, language, duration_seconds, dict(options), t, max_seconds
            )
        )

    def speak(
        self,
        text: str,
        voice: str | None = None,
        model: str | None = None,
        *,
        audio_format: str = "opus",
        **options: Unpack[MediaOptions],
    ) -> SpeechAudio:
        t = sync_transport()
        return t.run(
            speech.speak(
                self.pipeline, self.media, t, text, voice, model,
                audio_format=audio_format, options=dict(options),
            )
        )  # fmt: skip

    def generate_image(
        self,
        prompt: str,
        size: str | None = None,
        model: str | None = None,
        *,
        quality: str | None = None,
        **options: Unpack[MediaOptions],
    ) -> GeneratedImage:
        t = sync_transport()
        return t.run(
            images.generate_image(
                self.pipeline, self.media, t, prompt, size, model,
                quality=quality, options=dict(options),
            )
        )  # fmt: skip

    def read_document(
        self,
        data: bytes,
        mime_type: str | None = None,
        filename: str | None = None,
        *,
        max_pages: int | None = None,
        **options: Unpack[MediaOptions],
    ) -> DocumentText:
        t = sync_transport()
        return t.run(
            documents.read_document(
                self.pipeline, self.media, data, mime_type, filename,
                max_pages=max_pages, options=dict(options),
            )
        )  # fmt: skip
