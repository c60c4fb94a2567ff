"""Gateway discovery over real HTTP against the stub gateway on 127.0.0.1, in its three
shapes (plain /v1/models, OpenRouter pricing, LiteLLM proxy /model/info), and the price
order it feeds: the gateway's own, litellm's for the underlying model, the fallback."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from pytest import approx

from llmdoor import InMemoryUsageSink, LLMProvider, LLMSettings
from llmdoor.models import gateway, pricing
from tests.fakes.openai_server import FakeOpenAI

HOUSE_INFO = [
    {
        "model_name": "house-model",
        "litellm_params": {"model": "openai/some-private-model"},
        "model_info": {
            "input_cost_per_token": 2e-6,
            "output_cost_per_token": 8e-6,
            "max_input_tokens": 32000,
        },
    },
    # No price of its own, but the proxy names the model behind it: litellm's price.
    {"model_name": "house-mini", "litellm_params": {"model": "openai/gpt-4o-mini"}},
]


def gw_settings(fake: FakeOpenAI, **kwargs: Any) -> LLMSettings:
    # A key of its own per test: discovered catalogs are shared per (base, key).
    kwargs.setdefault("default_model", "openai/house-model")
    return LLMSettings(
        api_base=fake.base_url, api_key=f"sk-{uuid.uuid4().hex}", max_retries=0, **kwargs
    )


async def discover(settings: LLMSettings) -> gateway.GatewayCatalog:
    found = gateway.catalog_for(settings)
    assert found is not None
    assert await found.refresh()
    return found


async def test_plain_models_list_is_the_catalog(fake: FakeOpenAI) -> None:
    fake.gateway([{"id": "llama3.2", "object": "model"}, {"id": "qwen2.5", "object": "model"}])
    settings = gw_settings(fake)
    await discover(settings)
    provider = LLMProvider(settings, usage_sink=InMemoryUsageSink())
    listed = provider.list_models()
    assert [(m.shortcut, m.model_id) for m in listed] == [
        ("llama3.2", "openai/llama3.2"),
        ("qwen2.5", "openai/qwen2.5"),
    ]
    # No price anywhere and no fallback: unpriced.
    assert pricing.rate_for("openai/llama3.2", settings) is None
    assert provider.resolve_model("qwen2.5") == "openai/qwen2.5"


async def test_openrouter_pricing_fields(fake: FakeOpenAI) -> None:
    fake.gateway(
        [
            {
                "id": "anthropic/claude-x",
                "context_length": 200000,
                "pricing": {"prompt": "0.000003", "completion": "0.000015"},
            },
            {"id": "meta/free-one", "pricing": {"prompt": "0", "completion": "0"}},
        ]
    )
    settings = gw_settings(fake)
    await discover(settings)
    provider = LLMProvider(settings, usage_sink=InMemoryUsageSink())
    (claude, free) = provider.list_models()
    assert (claude.shortcut, claude.provider, claude.context_window) == (
        "anthropic/claude-x",
        "anthropic",
        200000,
    )
    assert (claude.input_price_per_mtok, claude.output_price_per_mtok) == (3.0, 15.0)
    rate = pricing.rate_for("openai/anthropic/claude-x", settings)
    assert rate is not None and rate.source == "gateway"
    assert rate.price(1000, 1000) == approx(0.018)
    assert free.input_price_per_mtok == 0.0  # a real price of zero is a price
    assert provider.model_context_window("anthropic/claude-x") == 200000


async def test_litellm_proxy_model_info_prices_and_underlying(fake: FakeOpenAI) -> None:
    fake.gateway([{"id": "house-model"}, {"id": "house-mini"}], HOUSE_INFO)
    settings = gw_settings(fake, unpriced_input_per_mtok=1.0, unpriced_output_per_mtok=1.0)
    await discover(settings)
    house = pricing.rate_for("openai/house-model", settings)
    assert house is not None and house.source == "gateway"
    assert house.price(1_000_000, 0) == approx(2.0)
    mini = pricing.rate_for("openai/house-mini", settings)
    assert mini is not None and (mini.source, mini.litellm_id) == ("litellm", "openai/gpt-4o-mini")
    assert mini.price(1000, 0) == approx(pricing.price("openai/gpt-4o-mini", 1000, 0))
    provider = LLMProvider(settings, usage_sink=InMemoryUsageSink())
    assert provider.model_context_window("house-model") == 32000


async def test_shortcuts_to_models_the_gateway_does_not_serve_are_hidden(
    fake: FakeOpenAI,
) -> None:
    fake.gateway([{"id": "gpt-4o-mini"}, {"id": "house-model"}])
    settings = gw_settings(fake, shortcuts={"house": "openai/house-model", "gone": "openai/x"})
    await discover(settings)
    listed = LLMProvider(settings, usage_sink=InMemoryUsageSink()).list_models()
    # The built-in shortcut and the operator's one name the served models; nothing else.
    assert sorted(m.shortcut or "" for m in listed) == ["gpt-4o-mini", "house"]


async def test_fallback_price_is_charged_and_flagged(fake: FakeOpenAI) -> None:
    fake.gateway([{"id": "house-model"}])
    settings = gw_settings(fake, unpriced_input_per_mtok=1.0, unpriced_output_per_mtok=3.0)
    await discover(settings)
    sink = InMemoryUsageSink()
    provider = LLMProvider(settings, usage_sink=sink)
    assert await provider.aquery_llm("one two three", model="house-model") == "echo: one two three"
    (event,) = sink.events
    assert event.cost_fallback and event.model == "openai/house-model"
    expected = (event.prompt_tokens * 1.0 + event.completion_tokens * 3.0) / 1_000_000
    assert event.cost_usd == approx(expected) and event.cost_usd > 0


async def test_gateway_price_is_not_flagged_as_fallback(fake: FakeOpenAI) -> None:
    fake.gateway([{"id": "house-model"}], HOUSE_INFO)
    settings = gw_settings(fake, unpriced_input_per_mtok=100.0, unpriced_output_per_mtok=100.0)
    await discover(settings)
    sink = InMemoryUsageSink()
    await LLMProvider(settings, usage_sink=sink).aquery_llm("hi", model="house-model")
    (event,) = sink.events
    expected = event.prompt_tokens * 2e-6 + event.completion_tokens * 8e-6
    assert not event.cost_fallback and event.cost_usd == approx(expected)


async def test_failed_discovery_keeps_the_last_list_and_warns(
    fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    fake.gateway([{"id": "house-model"}])
    settings = gw_settings(fake)
    found = await discover(settings)
    fake.models_status = 500
    with caplog.at_level(logging.WARNING, logger="llmdoor"):
        assert not await found.refresh()
    assert found.models is not None and list(found.models) == ["house-model"]
    assert any(
        "gateway discovery" in r.getMessage() and "kept 1" in r.getMessage() for r in caplog.records
    )
    # Not JSON-shaped at all: the same.
    fake.models_status = 200
    fake.models = None
    assert await found.refresh() and list(found.models) == ["fake-model"]


async def test_refresh_honours_the_short_cache(fake: FakeOpenAI) -> None:
    fake.gateway([{"id": "a"}])
    settings = gw_settings(fake, gateway_cache_seconds=3600)
    provider = LLMProvider(settings, usage_sink=InMemoryUsageSink())
    await provider.refresh_models()
    await provider.refresh_models()
    assert fake.discoveries == 1
    fake.gateway([{"id": "b"}])
    await provider.refresh_models(max_age=0)
    assert fake.discoveries == 2 and [m.shortcut for m in provider.list_models()] == ["b"]


def test_no_gateway_without_a_key_or_when_turned_off() -> None:
    assert gateway.catalog_for(LLMSettings(api_base="http://127.0.0.1:9/v1")) is None
    off = LLMSettings(api_base="http://127.0.0.1:9/v1", api_key="k", gateway_discovery=False)
    assert gateway.catalog_for(off) is None


def test_base_with_or_without_v1_reaches_the_same_root() -> None:
    assert gateway.GatewayCatalog("http://h:4000/v1/", None).root == "http://h:4000"
    assert gateway.GatewayCatalog("http://h:4000", None).root == "http://h:4000"


async def test_a_gateway_only_name_discovers_on_first_use(fake: FakeOpenAI) -> None:
    fake.gateway([{"id": "house-model"}])
    settings = gw_settings(fake)
    provider = LLMProvider(settings, usage_sink=InMemoryUsageSink())
    assert await provider.aquery_llm("hi", model="house-model") == "echo: hi"
    assert fake.discoveries == 1 and fake.chat_requests[-1].json["model"] == "house-model"


async def test_scheduled_refresh_picks_up_a_changed_list(fake: FakeOpenAI) -> None:
    fake.gateway([{"id": "a"}])
    found = gateway.catalog_for(gw_settings(fake))
    assert found is not None
    task = asyncio.create_task(found.run_periodically(0.01))
    try:
        await wait_for(lambda: found.models is not None and "a" in found.models)
        fake.gateway([{"id": "b"}])
        await wait_for(lambda: found.models is not None and list(found.models) == ["b"])
    finally:
        task.cancel()


async def wait_for(condition: Callable[[], bool]) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")
