"""A gateway behind LLM_API_BASE, end to end on the Telegram emulator: /model lists what the
stub gateway serves, its /model/info prices fill a friend's budget until it refuses, the
fallback price is charged and labelled in /stats, and a failed discovery keeps the list."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pytest import approx

from llmdoor import LLMSettings
from tests.e2e.conftest import ADMIN_ID, FRIEND_ID, StartBot, usage_recorded
from tests.fakes.openai_server import FakeOpenAI, Reply
from tests.tg_emulator.server import TelegramEmulator

LITELLM_ROWS = [{"id": "house-model"}, {"id": "house-mini"}, {"id": "raw-model"}]
LITELLM_INFO = [
    {
        "model_name": "house-model",
        "litellm_params": {"model": "openai/some-private-model"},
        "model_info": {"input_cost_per_token": 2e-6, "output_cost_per_token": 8e-6},
    },
    {"model_name": "house-mini", "litellm_params": {"model": "openai/gpt-4o-mini"}},
    {"model_name": "raw-model", "litellm_params": {"model": "openai/private-raw"}},
]


def gateway_llm(fake: FakeOpenAI, **kwargs: Any) -> LLMSettings:
    # A key of its own per test: discovered catalogs are shared per (base, key).
    return LLMSettings(
        default_model="openai/house-model",
        api_base=fake.base_url,
        api_key=f"sk-{uuid.uuid4().hex}",
        max_retries=0,
        timeout=5,
        **kwargs,
    )


def model_names(message) -> set[str]:  # type: ignore[no-untyped-def]
    texts = [b["text"].removeprefix("✅ ") for b in message.buttons]
    return {t.split(" · ")[0] for t in texts if t not in ("‹ Back", "Close")}


async def open_models(tg: TelegramEmulator, user_id: int, name: str) -> Any:
    user = tg.user(user_id, name)
    await user.send("/model")
    menu = await tg.wait_for_message(user_id, lambda m: "provider" in m.text.lower())
    # One provider group: everything the gateway serves.
    providers = [b["text"].removeprefix("✅ ") for b in menu.buttons if b["text"] != "Close"]
    assert providers in (["gateway (3)"], ["gateway (2)"])
    await user.press(menu, menu.buttons[0]["text"])
    await tg.wait_until(lambda: "Choose a model" in menu.text)
    return menu


async def test_model_lists_exactly_the_gateway_models(
    start_bot: StartBot, fake_llm: FakeOpenAI, tg: TelegramEmulator
) -> None:
    fake_llm.gateway(LITELLM_ROWS, LITELLM_INFO)
    async with start_bot(llm=gateway_llm(fake_llm)):
        admin_menu = await open_models(tg, ADMIN_ID, "Ada")
        assert model_names(admin_menu) == {"house-model", "house-mini", "raw-model"}
        labels = [b["text"] for b in admin_menu.buttons]
        assert "✅ house-model · $2.00/$8.00 per 1M" in labels
        # Friends: only priced models (raw-model has no price anywhere and no fallback is set).
        friend_menu = await open_models(tg, FRIEND_ID, "Fred")
        assert model_names(friend_menu) == {"house-model", "house-mini"}
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("/model raw-model")
        await tg.wait_for_message(FRIEND_ID, lambda m: "not in the catalog" in m.text)
        await friend.send("/model house-mini")
        await tg.wait_for_message(FRIEND_ID, lambda m: "Model set to house-mini" in m.text)
        await friend.send("hello gateway")
        await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "echo: hello gateway")
        assert fake_llm.chat_requests[-1].json["model"] == "house-mini"


async def test_gateway_price_fills_the_budget_until_it_refuses(
    start_bot: StartBot, fake_llm: FakeOpenAI, tg: TelegramEmulator
) -> None:
    fake_llm.gateway(LITELLM_ROWS, LITELLM_INFO)
    fake_llm.on("spend", Reply(completion_tokens=3000))  # 3000 x $8/M = $0.024 a call
    async with start_bot(llm=gateway_llm(fake_llm)) as running:
        friend = tg.user(FRIEND_ID, "Fred")
        await running.storage.users.set_budget(FRIEND_ID, 0.06)
        await friend.send("/model house-model")
        await tg.wait_for_message(FRIEND_ID, lambda m: "Model set to house-model" in m.text)
        # Each call reserves prompt + 4096 output tokens at $8/M (~$0.033) before it goes out.
        for text in ("spend one", "spend two"):
            await friend.send(text)
            await tg.wait_for_message(FRIEND_ID, lambda m, t=text: m.text == f"echo: {t}")
        await friend.send("spend three")
        refusal = await tg.wait_for_message(FRIEND_ID, lambda m: "budget" in m.text)
        assert "00:00 UTC" in refusal.text
        assert len(fake_llm.chat_requests) == 2  # the gateway was not called a third time

        await running.storage.usage_sink.flush()
        totals = await running.storage.usage.totals()
        spent = await running.storage.spend.spent(FRIEND_ID, datetime.now(UTC).date())
        assert totals.requests == 2 and totals.unpriced_requests == 0
        assert totals.fallback_priced_requests == 0
        assert totals.cost_usd == approx(2 * 3000 * 8e-6, rel=0.01) and spent == approx(
            totals.cost_usd
        )


async def test_fallback_price_is_charged_and_labelled_in_stats(
    start_bot: StartBot, fake_llm: FakeOpenAI, tg: TelegramEmulator
) -> None:
    fake_llm.gateway([{"id": "llama3.2"}])  # a plain /v1/models: vLLM, Ollama
    llm = gateway_llm(fake_llm, unpriced_input_per_mtok=1.0, unpriced_output_per_mtok=3.0)
    async with start_bot(llm=llm) as running:
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("/model llama3.2")
        await tg.wait_for_message(FRIEND_ID, lambda m: "Model set to llama3.2" in m.text)
        await friend.send("count these five words")
        await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "echo: count these five words")
        await usage_recorded(running.storage, 1)
        totals = await running.storage.usage.totals()
        assert totals.fallback_priced_requests == 1 and totals.cost_usd > 0

        admin = tg.user(ADMIN_ID, "Ada")
        await admin.send("/stats")
        stats = await tg.wait_for_message(ADMIN_ID, lambda m: "Requests:" in m.text)
        assert "(incl. 1 at the fallback price)" in stats.text
        assert "1 requests had no known price" in stats.text
        assert "LLM_UNPRICED_INPUT_PER_MTOK" in stats.text


async def test_discovery_down_keeps_the_last_list_and_warns(
    start_bot: StartBot,
    fake_llm: FakeOpenAI,
    tg: TelegramEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_llm.gateway(LITELLM_ROWS, LITELLM_INFO)
    async with start_bot(llm=gateway_llm(fake_llm, gateway_cache_seconds=0)):
        menu = await open_models(tg, ADMIN_ID, "Ada")
        assert model_names(menu) == {"house-model", "house-mini", "raw-model"}
        seen = fake_llm.discoveries
        fake_llm.models_status = 500
        with caplog.at_level(logging.WARNING, logger="llmdoor"):
            again = await open_models(tg, ADMIN_ID, "Ada")
        assert fake_llm.discoveries > seen  # it did ask, and got a 500
        assert model_names(again) == {"house-model", "house-mini", "raw-model"}
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("gateway discovery" in w and "kept 3 models" in w for w in warnings)
        # The kept list still routes: a typed name from it works.
        admin = tg.user(ADMIN_ID, "Ada")
        await admin.send("/model raw-model")
        await tg.wait_for_message(ADMIN_ID, lambda m: "Model set to raw-model" in m.text)
