"""Module-level query and media functions: thin wrappers over the default provider.

Keyword options are `QueryOptions` (llmdoor.options): system_message, chat_history,
attachments, user_id, username, caller, temperature, max_tokens, timeout, plus anything
litellm accepts (api_base, api_key, ...).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, TypeVar, Unpack

from pydantic import BaseModel

from llmdoor.default import get_default_provider
from llmdoor.events import StreamEvent
from llmdoor.media.call import MediaOptions
from llmdoor.media.documents import DocumentText
from llmdoor.media.images import GeneratedImage
from llmdoor.media.speech import SpeechAudio
from llmdoor.media.transcription import AudioInput, Transcript
from llmdoor.messages import ChatMessage
from llmdoor.models import catalog
from llmdoor.options import QueryOptions as Options

M = TypeVar("M", bound=BaseModel)


async def aquery_llm(prompt: str, model: str | None = None, **kwargs: Unpack[Options]) -> str:
    return await get_default_provider().aquery_llm(prompt, model, **kwargs)


async def aquery_llm_text(prompt: str, model: str | None = None, **kwargs: Unpack[Options]) -> str:
    return await get_default_provider().aquery_llm_text(prompt, model, **kwargs)


async def aquery_llm_raw(prompt: str, model: str | None = None, **kwargs: Unpack[Options]) -> Any:
    return await get_default_provider().aquery_llm_raw(prompt, model, **kwargs)


async def aquery_llm_structured(
    prompt: str, output_schema: type[M], model: str | None = None, **kwargs: Unpack[Options]
) -> M:
    return await get_default_provider().aquery_llm_structured(
        prompt, output_schema, model, **kwargs
    )


def aquery_llm_stream(
    prompt: str, model: str | None = None, **kwargs: Unpack[Options]
) -> AsyncIterator[str]:
    return get_default_provider().aquery_llm_stream(prompt, model, **kwargs)


def aquery_llm_events(
    prompt: str, model: str | None = None, **kwargs: Unpack[Options]
) -> AsyncIterator[StreamEvent]:
    return get_default_provider().aquery_llm_events(prompt, model, **kwargs)


def query_llm_events(
    prompt: str, model: str | None = None, **kwargs: Unpack[Options]
) -> Iterator[StreamEvent]:
    return get_default_provider().query_llm_events(prompt, model, **kwargs)


def query_llm(prompt: str, model: str | None = None, **kwargs: Unpack[Options]) -> str:
    return get_default_provider().query_llm(prompt, model, **kwargs)


def query_llm_text(prompt: str, model: str | None = None, **kwargs: Unpack[Options]) -> str:
    return get_default_provider().query_llm_text(prompt, model, **kwargs)


def query_llm_raw(prompt: str, model: str | None = None, **kwargs: Unpack[Options]) -> Any:
    return get_default_provider().query_llm_raw(prompt, model, **kwargs)


def query_llm_structured(
    prompt: str, output_schema: type[M], model: str | None = None, **kwargs: Unpack[Options]
) -> M:
    return get_default_provider().query_llm_structured(prompt, output_schema, model, **kwargs)


def query_llm_stream(
    prompt: str, model: str | None = None, **kwargs: Unpack[Options]
) -> Iterator[str]:
    return get_default_provider().query_llm_stream(prompt, model, **kwargs)


def resolve_model(name: str) -> str:
    """Shortcut (built-in or LLM_SHORTCUTS) or litellm id -> litellm id."""
    return get_default_provider().resolve_model(name)


def list_models(available_only: bool = True) -> list[catalog.ModelInfo]:
    return get_default_provider().list_models(available_only)


def supports_vision(model: str) -> bool:
    """True only when litellm's map says the model reads images."""
    return get_default_provider().supports_vision(model)


def model_context_window(model: str) -> int | None:
    return get_default_provider().model_context_window(model)


def fit_history(
    model: str | None,
    system_message: str | None,
    history: Sequence[ChatMessage],
    prompt: str,
    reserve_tokens: int = 1024,
) -> list[ChatMessage]:
    return get_default_provider().fit_history(
        model, system_message, history, prompt, reserve_tokens
    )


# Media: the same access, budget and usage rules as the chat calls (parameters in
# llmdoor.media.provider).


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
