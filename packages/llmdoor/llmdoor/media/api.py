"""Module-level media functions: thin wrappers over the default provider, next to
query_llm (see llmdoor.media.provider for the parameters)."""

from __future__ import annotations

from typing import Unpack

from llmdoor.default import get_default_provider
from llmdoor.media.call import MediaOptions
from llmdoor.media.documents import DocumentText
from llmdoor.media.images import GeneratedImage
from llmdoor.media.speech import SpeechAudio
from llmdoor.media.transcription import AudioInput, Transcript


async def atranscribe(
    audio: AudioInput,
    model: str | None = None,
    *,
    filename: str | None = None,
    language: str | None = None,
    duration_seconds: float | None = None,
    **options: Unpack[MediaOptions],
) -> Transcript:
    return await get_default_provider().atranscribe(
        audio, model, filename=filename, language=language,
        duration_seconds=duration_seconds, **options,
    )  # fmt: skip


def transcribe(
    audio: AudioInput,
    model: str | None = None,
    *,
    filename: str | None = None,
    language: str | None = None,
    duration_seconds: float | None = None,
    **options: Unpack[MediaOptions],
) -> Transcript:
    return get_default_provider().transcribe(
        audio, model, filename=filename, language=language,
        duration_seconds=duration_seconds, **options,
    )  # fmt: skip


async def aspeak(
    text: str,
    voice: str | None = None,
    model: str | None = None,
    *,
    audio_format: str = "opus",
    **options: Unpack[MediaOptions],
) -> SpeechAudio:
    return await get_default_provider().aspeak(
        text, voice, model, audio_format=audio_format, **options
    )


def speak(
    text: str,
    voice: str | None = None,
    model: str | None = None,
    *,
    audio_format: str = "opus",
    **options: Unpack[MediaOptions],
) -> SpeechAudio:
    return get_default_provider().speak(text, voice, model, audio_format=audio_format, **options)


async def agenerate_image(
    prompt: str,
    size: str | None = None,
    model: str | None = None,
    *,
    quality: str | None = None,
    **options: Unpack[MediaOptions],
) -> GeneratedImage:
    return await get_default_provider().agenerate_image(
        prompt, size, model, quality=quality, **options
    )


def generate_image(
    prompt: str,
    size: str | None = None,
    model: str | None = None,
    *,
    quality: str | None = None,
    **options: Unpack[MediaOptions],
) -> GeneratedImage:
    return get_default_provider().generate_image(prompt, size, model, quality=quality, **options)


async def aread_document(
    data: bytes,
    mime_type: str | None = None,
    filename: str | None = None,
    *,
    max_pages: int | None = None,
    **options: Unpack[MediaOptions],
) -> DocumentText:
    return await get_default_provider().aread_document(
        data, mime_type, filename, max_pages=max_pages, **options
    )


def read_document(
    data: bytes,
    mime_type: str | None = None,
    filename: str | None = None,
    *,
    max_pages: int | None = None,
    **options: Unpack[MediaOptions],
) -> DocumentText:
    return get_default_provider().read_document(
        data, mime_type, filename, max_pages=max_pages, **options
    )
