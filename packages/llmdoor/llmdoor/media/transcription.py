"""Speech to text through litellm's transcription API, with a language guess: the
vendor's where it gives one (Whisper's verbose_json), else the caller's ``language``, else
read off the transcript (llmdoor.media.language), always as an ISO 639-1 code.

The recording's length is measured locally first (llmdoor.media.audio_probe): bytes that
are not audio are refused (AudioUnreadable), and the budget is reserved, and the cap
(``max_seconds``, AudioTooLong) applied, by the larger of the declared and the measured
length, before any vendor call. A price computed from a duration (the vendor reported no
cost) uses the larger of the vendor's and the measured one."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmdoor.calls.pipeline import Pipeline
from llmdoor.calls.transport import Transport
from llmdoor.errors import AudioTooLong
from llmdoor.media import audio_probe
from llmdoor.media import call as media_call
from llmdoor.media import language as languages
from llmdoor.media import models as media_models
from llmdoor.media.settings import MediaSettings
from llmdoor.usage import CallKind, UsageEvent

AudioInput = bytes | str | os.PathLike[str]


@dataclass(frozen=True)
class Transcript:
    text: str
    # ISO 639-1 ("en", "ru"): the vendor's, the caller's or guessed from the text; None
    # when the text is too short or unclear to tell.
    language: str | None
    duration_seconds: float | None
    model: str
    usage: UsageEvent | None = None


def _read(audio: AudioInput, filename: str | None) -> tuple[str, bytes]:
    if isinstance(audio, bytes | bytearray):
        return filename or "audio.ogg", bytes(audio)
    path = Path(audio)
    return filename or path.name, path.read_bytes()


def _verbose(model_id: str) -> bool:
    # Whisper returns the language and duration in verbose_json; the gpt-4o transcribers
    # accept only json/text (and report usage instead).
    return "whisper" in model_id.lower()


def _get(response: Any, name: str) -> Any:
    value = getattr(response, name, None)
    if value is None and isinstance(response, dict):
        value = response.get(name)
    return value


async def transcribe(
    pipeline: Pipeline,
    media: MediaSettings,
    transport: Transport,
    audio: AudioInput,
    model: str | None,
    *,
    filename: str | None,
    language: str | None,
    duration_seconds: float | None,
    options: dict[str, Any],
    max_seconds: float | None = None,
) -> Transcript:
    caller, kwargs = await media_call.admit(pipeline, options)
    model_id, shortcut = media_models.resolve_media_model(
        CallKind.TRANSCRIPTION, model or media.transcribe_model, pipeline.settings
    )
    name, data = _read(audio, filename)
    measured = await audio_probe.ameasure(data, max_seconds)  # AudioUnreadable: not audio
    declared = duration_seconds if duration_seconds and duration_seconds > 0 else None
    if measured is None:
        seconds = media_models.audio_seconds(len(data), declared)
    else:
        seconds = max(measured, declared or 0.0)
    if max_seconds is not None and seconds > max_seconds:
        raise AudioTooLong(
            f"The recording is {seconds:.0f} s long; the limit is {max_seconds:g} s.",
            seconds=seconds,
            limit=max_seconds,
        )
    estimate = media_models.transcription_price(model_id, seconds)
    call = await media_call.open_call(
        pipeline,
        caller,
        kind=CallKind.TRANSCRIPTION,
        model_id=model_id,
        shortcut=shortcut,
        estimate=estimate,
        kwargs=kwargs,
    )
    kwargs.update(model=model_id, file=(name, data))
    if _verbose(model_id):
        kwargs.setdefault("response_format", "verbose_json")
    if language:
        kwargs["language"] = language

    async def request() -> Any:
        return await media_call.invoke(transport, "transcription", kwargs)

    response = await media_call.send(pipeline, call, request)
    reported = _get(response, "duration")
    heard = float(reported) if isinstance(reported, int | float) else duration_seconds
    if measured is not None:
        heard = max(heard or 0.0, measured)
    cost = media_call.reported_cost(response)
    estimated = False
    if cost is None:
        cost = media_models.transcription_price(model_id, heard or seconds)
        estimated = heard is None
    usage = _get(response, "usage")
    await media_call.succeed(
        pipeline,
        call,
        cost,
        estimated=estimated,
        prompt_tokens=int(_get(usage, "input_tokens") or 0) if usage is not None else 0,
        completion_tokens=int(_get(usage, "output_tokens") or 0) if usage is not None else 0,
    )
    text = str(_get(response, "text") or "").strip()
    vendor = _get(response, "language")
    found = languages.normalize(str(vendor) if vendor else None) or languages.normalize(language)
    if found is None and text:
        # The model is loaded on first use: not on the event loop.
        found = await asyncio.to_thread(languages.guess, text)
    return Transcript(
        text=text,
        language=found,
        duration_seconds=heard,
        model=model_id,
        usage=call.event,
    )
