"""MediaService: which media features exist, for /help and the handlers alike."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from app.services.media.limits import MediaLimits
from app.services.media.service import Feature, FeatureOff, MediaService
from app.storage import Storage, open_memory_storage
from llmdoor import LLMProvider, LLMSettings, MediaSettings, ensure_loaded
from llmdoor.access import Role
from tests.fakes.openai_server import FakeOpenAI


@pytest.fixture
def fake(fake_llm_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    fake_llm_server.reset()
    yield fake_llm_server
    fake_llm_server.reset()


@pytest.fixture
async def storage() -> AsyncIterator[Storage]:
    await ensure_loaded()
    storage = open_memory_storage()
    yield storage
    await storage.close()


def gateway_media(storage: Storage, fake: FakeOpenAI, **media: str) -> MediaService:
    # A key of its own: discovered catalogs are shared per (base, key).
    settings = LLMSettings(api_base=fake.base_url, api_key=f"sk-{uuid.uuid4().hex}")
    llm = LLMProvider(settings, media=MediaSettings(**media))
    return MediaService(storage, llm, MediaLimits(), env={})


async def test_a_gateway_offers_only_the_media_models_it_serves(
    storage: Storage, fake: FakeOpenAI
) -> None:
    fake.gateway([{"id": "gpt-4o-mini"}, {"id": "gpt-4o-mini-transcribe"}, {"id": "tts-1"}])
    media = gateway_media(
        storage, fake, transcribe_model="gpt-4o-mini-transcribe", speech_model="tts"
    )
    # The image model (gpt-image-2 by default) is not served: no /image.
    assert await media.features(Role.ADMIN) == {Feature.TRANSCRIPTION, Feature.SPEECH}
    assert await media.features(Role.FRIEND) == {Feature.TRANSCRIPTION, Feature.SPEECH}
    assert fake.discoveries == 1  # asked once, then the short cache answers


async def test_a_gateway_whose_list_is_unknown_offers_every_media_feature(
    storage: Storage, fake: FakeOpenAI
) -> None:
    fake.models_status = 500  # discovery fails: no list to check against
    media = gateway_media(storage, fake)
    assert await media.features(Role.ADMIN) == set(Feature)


async def test_start_up_log_says_which_media_features_are_off_and_why(
    storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    from app.bot.run.lifecycle import log_media_features

    media_settings = MediaSettings(
        transcribe_model="openai/house-whisper",  # litellm knows no price
        speech_model="tts",
        image_model="gpt-imag",  # a typo
    )
    llm = LLMProvider(LLMSettings(api_base=None), media=media_settings)
    keyed = MediaService(storage, llm, MediaLimits(), env={"OPENAI_API_KEY": "sk-secret-1"})
    with caplog.at_level(logging.INFO, logger="app.bot.run.lifecycle"):
        await log_media_features(keyed)
    lines = [r.getMessage() for r in caplog.records]
    assert (
        "media: image is off: LLM_IMAGE_MODEL names no known image model "
        "(close: gpt-image, gpt-image-2, gpt-image-mini)" in lines
    )
    assert any(
        line.startswith("media: transcription is for admins only: litellm has no price for "
                        "openai/house-whisper") for line in lines
    )  # fmt: skip
    assert "media: speech on (openai/tts-1)" in lines
    caplog.clear()
    keyless = MediaService(storage, llm, MediaLimits(), env={})
    with caplog.at_level(logging.INFO, logger="app.bot.run.lifecycle"):
        await log_media_features(keyless)
    lines = [r.getMessage() for r in caplog.records]
    assert "media: speech is off: no API key (or local address) is set for the provider of " \
        "openai/tts-1" in lines  # fmt: skip
    assert all("sk-secret" not in line for line in caplog.text.splitlines())


async def test_the_start_up_report_and_the_handlers_give_one_answer(
    storage: Storage, fake: FakeOpenAI
) -> None:
    fake.gateway([{"id": "gpt-4o-mini-transcribe"}])
    media = gateway_media(storage, fake)
    reports = {r.feature: r for r in await media.report()}
    assert reports[Feature.IMAGE].off_for_admins is FeatureOff.NOT_SERVED
    assert reports[Feature.TRANSCRIPTION].off_for_admins is None
    features = await media.features(Role.ADMIN)
    assert {f for f, r in reports.items() if r.off_for_admins is None} == features
