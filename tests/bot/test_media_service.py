"""MediaService: which media features exist, for /help and the handlers alike."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from app.bot.services.media import Feature, MediaService
from app.bot.services.media_settings import MediaLimits
from app.llm import LLMProvider, LLMSettings, MediaSettings, ensure_loaded
from app.llm.access import Role
from app.storage import Storage, open_memory_storage
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
