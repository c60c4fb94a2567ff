"""transcribe, speak and generate_image in llmdoor: sync and async, the access and budget
rules of chat, typed errors, and one usage event of the call's kind with litellm's price
(per second of audio, per character or token, per image token)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import get_args

import pytest

from llmdoor import (
    MEDIA_SHORTCUTS,
    AccessDenied,
    AccessPolicy,
    AccessSettings,
    AuthError,
    BudgetExceeded,
    CallKind,
    EmptyResponse,
    InMemoryUsageSink,
    LLMProvider,
    MediaKind,
    ProviderUnavailable,
    UnknownModel,
    set_default_provider,
)
from llmdoor import generate_image as module_generate_image
from llmdoor import read_document as module_read_document
from llmdoor import transcribe as module_transcribe
from llmdoor.media import audio_format
from tests.fakes.openai_media import FAKE_OGG, tiny_png
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.llm.conftest import CountingGuard
from tests.media.files import make_mp3, make_ogg_opus, make_wav

FRIEND, ADMIN, STRANGER = 5, 1, 9
# A real recording: its length is measured locally before any vendor call.
AUDIO = make_ogg_opus(1.0)


def policy() -> AccessPolicy:
    return AccessPolicy(AccessSettings(admins=str(ADMIN), friends=str(FRIEND)))


def test_the_media_kinds_are_call_kinds() -> None:
    media = {CallKind.TRANSCRIPTION, CallKind.SPEECH, CallKind.IMAGE}
    assert set(get_args(MediaKind)) == set(MEDIA_SHORTCUTS) == media


async def test_transcribe_returns_text_language_and_a_priced_event(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    fake.media.duration = 12.0
    result = await provider.atranscribe(AUDIO, "whisper", filename="note.ogg")
    assert result.text == "Hello from the voice note."
    assert result.language == "en" and result.duration_seconds == 12.0  # "english" as a code
    request = fake.media_requests[-1]
    assert request.json["model"] == "whisper-1" and request.json["file_bytes"] == len(AUDIO)
    assert request.json["response_format"] == "verbose_json"  # whisper tells the language
    (event,) = sink.events
    assert event.kind == "transcription" and event.model == "openai/whisper-1"
    assert event.shortcut == "whisper" and event.outcome == "ok"
    assert type(event.kind) is CallKind
    # whisper-1 costs $0.0001 per second in litellm's map: 12 s heard.
    assert event.cost_usd == pytest.approx(12 * 0.0001)
    assert result.usage == event


async def test_transcribe_guesses_the_language_when_the_default_model_gives_none(
    provider: LLMProvider, fake: FakeOpenAI
) -> None:
    # gpt-4o-mini-transcribe (the default) answers json: text and usage, no language.
    for text, expected in (
        ("Напомни мне, пожалуйста, завтра утром купить хлеба и молока.", "ru"),
        ("Remind me to buy some bread and milk tomorrow morning, please.", "en"),
        ("ok", None),  # too short to tell
    ):
        fake.media.transcript = text
        result = await provider.atranscribe(AUDIO)
        assert fake.media_requests[-1].json["model"] == "gpt-4o-mini-transcribe"
        assert "response_format" not in fake.media_requests[-1].json
        assert result.text == text and result.language == expected, text
    # The caller's language hint wins over a guess.
    fake.media.transcript = "Remind me to buy some bread and milk tomorrow morning."
    hinted = await provider.atranscribe(AUDIO, language="de")
    assert hinted.language == "de" and fake.media_requests[-1].json["language"] == "de"


async def test_transcribe_takes_a_path_and_works_sync(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "memo.m4a"
    path.write_bytes(AUDIO)
    result = await asyncio.to_thread(provider.transcribe, path, "gpt-4o-transcribe")
    assert result.text == "Hello from the voice note."
    assert fake.media_requests[-1].json["file_name"] == "memo.m4a"
    assert "response_format" not in fake.media_requests[-1].json
    (event,) = sink.events
    assert event.kind == "transcription" and event.cost_usd and event.cost_usd > 0
    assert event.prompt_tokens > 0  # the token usage the vendor reported


async def test_module_level_transcribe_uses_the_default_provider(
    make_provider: Callable[..., LLMProvider], fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    set_default_provider(make_provider())
    try:
        result = await asyncio.to_thread(module_transcribe, AUDIO, "whisper")
    finally:
        set_default_provider(None)
    assert result.text == "Hello from the voice note."
    assert [e.kind for e in sink.events] == ["transcription"]


async def test_module_level_sync_generate_image_and_read_document(
    make_provider: Callable[..., LLMProvider], fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    set_default_provider(make_provider())
    try:
        image = await asyncio.to_thread(module_generate_image, "a red square", "1024x1024")
        document = await asyncio.to_thread(
            module_read_document, b"# Notes\n\nbuy milk", "text/markdown", "notes.md"
        )
    finally:
        set_default_provider(None)
    assert image.data == tiny_png() and image.url is None
    assert fake.media_requests[-1].json["size"] == "1024x1024"
    assert "buy milk" in document.markdown and document.filename == "notes.md"
    assert [e.kind for e in sink.events] == ["image", "document"]
    assert image.usage == sink.events[0] and document.usage == sink.events[1]


async def test_speak_returns_ogg_opus_and_records_speech(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    audio = await provider.aspeak("Good morning, Fred.", voice="nova", model="tts")
    assert audio.data == FAKE_OGG and audio.mime_type == "audio/ogg"
    body = fake.media_requests[-1].json
    assert body == {
        "model": "tts-1",
        "input": "Good morning, Fred.",
        "voice": "nova",
        "response_format": "opus",
    }
    (event,) = sink.events
    # tts-1: $15 per million characters.
    assert event.kind == "speech" and event.cost_usd == pytest.approx(19 * 15e-6, rel=0.2)
    same = await asyncio.to_thread(provider.speak, "Again.")
    assert same.data == FAKE_OGG and fake.media_requests[-1].json["model"] == "gpt-4o-mini-tts"


async def test_speak_converts_a_vendors_wav_or_mp3_to_ogg_opus(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    # A vendor that ignores response_format (drop_params) and answers in its own default.
    for made, content_type in ((make_wav(), "audio/wav"), (make_mp3(), "audio/mpeg")):
        fake.media.speech, fake.media.speech_content_type = made, content_type
        audio = await provider.aspeak("Good morning, Fred.", model="tts")
        assert fake.media_requests[-1].json["response_format"] == "opus"
        assert audio.data != made and audio_format.detect(audio.data) == "opus"
        assert audio.data.startswith(b"OggS") and b"OpusHead" in audio.data[:64]
        assert audio.format == "opus" and audio.mime_type == "audio/ogg"
    assert [e.outcome for e in sink.events] == ["ok", "ok"]


async def test_speak_reports_the_real_format_when_it_cannot_convert(
    provider: LLMProvider, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audio_format, "to_ogg_opus", lambda _data: None)  # no PyAV
    fake.media.speech = mp3 = make_mp3()
    audio = await provider.aspeak("Good morning, Fred.")
    assert audio.data == mp3 and audio.format == "mp3" and audio.mime_type == "audio/mpeg"
    fake.media.speech = wav = make_wav()
    same = await provider.aspeak("Good morning, Fred.", audio_format="mp3")
    assert same.data == wav and same.format == "wav"  # asked for MP3, told the truth


async def test_speak_refuses_an_empty_body_with_a_typed_error(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    fake.media.speech = b""
    with pytest.raises(EmptyResponse):
        await provider.aspeak("Good morning, Fred.")
    (event,) = sink.events
    assert event.kind == "speech" and event.outcome == "error"
    assert event.error_kind == "empty_response"


def test_audio_formats_are_told_by_their_magic_bytes() -> None:
    assert audio_format.detect(FAKE_OGG) == "opus"
    assert audio_format.detect(b"OggS" + b"\x00" * 22 + b"\x01" + b"\x1e\x01vorbis") == "ogg"
    assert audio_format.detect(make_mp3()) == "mp3"
    assert audio_format.detect(b"\xff\xfb\x90\x00" + b"\x00" * 10) == "mp3"  # no ID3 tag
    assert audio_format.detect(b"\xff\xf1\x50\x80" + b"\x00" * 10) == "aac"
    assert audio_format.detect(make_wav()) == "wav"
    assert audio_format.detect(b"fLaC\x00\x00\x00\x22") == "flac"
    assert audio_format.detect(b"\x00\x00\x00\x20ftypM4A ") == "m4a"
    assert audio_format.detect(b"") is None and audio_format.detect(b"\x00\x01\x02") is None


async def test_generate_image_returns_bytes_and_the_token_priced_cost(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    image = await provider.agenerate_image("a red square", size="1024x1536")
    assert image.data == tiny_png() and image.url is None
    body = fake.media_requests[-1].json
    assert body["prompt"] == "a red square" and body["size"] == "1024x1536"
    assert body["model"] == "gpt-image-2"
    (event,) = sink.events
    # gpt-image-2: $30 per million output image tokens, $5 per million text tokens in.
    assert event.kind == "image"
    assert event.cost_usd == pytest.approx(1056 * 30e-6 + 3 * 5e-6)
    assert event.completion_tokens == 1056


async def test_provider_prefixed_image_models_are_priced_from_their_own_rows() -> None:
    from llmdoor import ensure_loaded
    from llmdoor.media.models import image_price, is_media_priced

    await ensure_loaded()  # litellm's local map (LITELLM_LOCAL_MODEL_COST_MAP=True)
    pixels = 1024 * 1024
    # Only azure/{quality}/1024-x-1024/dall-e-3 rows price DALL-E 3 in the map.
    hd, standard = 8.39233e-08 * pixels, 4.19617e-08 * pixels
    assert image_price("azure/dall-e-3", "1024x1024", "hd", "") == pytest.approx(hd)
    assert image_price("azure/dall-e-3", "1024x1024", "standard", "") == pytest.approx(standard)
    assert image_price("azure/dall-e-3", "1024x1024", None, "") == pytest.approx(hd)  # worst
    # "medium" (what the settle path assumes without a quality) is DALL-E's "standard".
    assert image_price("azure/dall-e-3", "1024x1024", "medium", "") == pytest.approx(standard)
    assert is_media_priced("azure/dall-e-3")
    low = image_price("azure/gpt-image-1", "1024x1024", "low", "")
    assert low == pytest.approx(1.0490417e-08 * pixels)  # azure/low/1024-x-1024/gpt-image-1
    assert image_price("azure/gpt-image-1-mini", "1024x1536", "medium", "") == pytest.approx(
        8.056640625e-09 * 1024 * 1536
    )
    # Unprefixed rows still price the OpenAI ids.
    assert image_price("openai/gpt-image-1", "1024x1024", "low", "") == pytest.approx(0.011)


async def test_strangers_are_refused_before_the_vendor(
    make_provider: Callable[..., LLMProvider], fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    provider = make_provider(access=policy())
    with pytest.raises(AccessDenied):
        await provider.atranscribe(AUDIO, user_id=STRANGER)
    with pytest.raises(AccessDenied):
        await provider.aspeak("hi", user_id=STRANGER)
    with pytest.raises(AccessDenied):
        await provider.agenerate_image("a cat", user_id=STRANGER)
    with pytest.raises(AccessDenied):
        await provider.aread_document(b"hello", "text/plain", "a.txt", user_id=STRANGER)
    assert fake.media_requests == [] and sink.events == []


async def test_over_budget_is_refused_before_the_vendor_and_settled_after(
    make_provider: Callable[..., LLMProvider], fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    tight = CountingGuard(limit=0.01)
    provider = make_provider(access=policy(), budget=tight)
    # A high-quality 1024x1024 picture is reserved at ~$0.12: over the limit.
    with pytest.raises(BudgetExceeded):
        await provider.agenerate_image("a castle", user_id=FRIEND)
    assert fake.media_requests == [] and sink.events == []
    # A 5-second voice note fits ($0.00025 reserved at gpt-4o-mini-transcribe's rate).
    await provider.atranscribe(AUDIO, user_id=FRIEND, duration_seconds=5)
    (hold,) = tight.holds
    assert hold.reserved == pytest.approx(5 * 0.00005)
    assert hold.settled == [sink.events[0].cost_usd]


async def test_vendor_errors_are_typed_retried_and_recorded_once(
    provider: LLMProvider, fake: FakeOpenAI, sink: InMemoryUsageSink
) -> None:
    fake.media.script(Reply.unauthorized())
    with pytest.raises(AuthError):
        await provider.atranscribe(AUDIO, "whisper")
    fake.media.script(Reply.server_error(), Reply.server_error(), Reply.server_error())
    with pytest.raises(ProviderUnavailable):
        await provider.aspeak("hello")
    fake.media.script(Reply.server_error())  # one failure, then the retry succeeds
    image = await provider.agenerate_image("a dog")
    assert image.data is not None
    outcomes = [(e.kind, e.outcome, e.error_kind, e.attempts) for e in sink.events]
    assert outcomes == [
        ("transcription", "error", "auth", 1),
        ("speech", "error", "unavailable", 3),
        ("image", "ok", None, 2),
    ]
    assert sink.events[0].cost_usd == 0.0  # nothing was billed for a refusal


async def test_unknown_media_model_is_refused_without_a_request(
    provider: LLMProvider, fake: FakeOpenAI
) -> None:
    with pytest.raises(UnknownModel) as caught:
        await provider.atranscribe(AUDIO, "whispr")
    assert "whisper" in caught.value.suggestions
    assert fake.media_requests == []
