"""Errors that name the fix: an admin is told the model, its provider and the variable to
check (never its value); a friend gets the short sentence. /image honours OPENAI_API_BASE
like chat does. A refused stranger's id is in the log, for an owner who mistyped it."""

from __future__ import annotations

import logging

import pytest

from llmdoor import LLMSettings, MediaSettings, setup_hint
from tests.e2e.conftest import ADMIN_ID, FAKE_MODEL, FRIEND_ID, STRANGER_ID, Running, StartBot
from tests.fakes.openai_media import tiny_png
from tests.fakes.openai_server import Reply


async def test_admin_is_told_which_key_to_check_and_a_friend_is_not(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    admin, friend = tg.user(ADMIN_ID, "Ada"), tg.user(FRIEND_ID, "Fred")
    fake.script(Reply.unauthorized(), Reply.unauthorized())
    await admin.send("hello")
    told = await tg.wait_for_message(admin.id, lambda m: "🔑" in m.text)
    assert told.text == (
        f"🔑 The provider rejected the key for {FAKE_MODEL} (openai): check LLM_API_KEY."
    )
    assert "sk-test" not in told.text and "admin" not in told.text
    await friend.send("hello")
    short = await tg.wait_for_message(friend.id, lambda m: "🔑" in m.text)
    assert short.text == (
        "🔑 The model provider rejected the bot's API key. Please tell the bot's admin."
    )
    assert "LLM_API_KEY" not in short.text


def test_the_hint_names_the_variable_that_is_set_never_its_value() -> None:
    env = {"OPENAI_API_KEY": "sk-secret-value", "OPENAI_API_BASE": "http://127.0.0.1:9/v1"}
    hint = setup_hint("openai/gpt-x", LLMSettings(api_key=None, api_base=None), env)
    assert (hint.provider, hint.key_names, hint.base_names) == (
        "openai",
        ("OPENAI_API_KEY",),
        ("OPENAI_API_BASE",),
    )
    gemini = setup_hint("gemini/gemini-2.5-flash", LLMSettings(api_key=None, api_base=None), {})
    assert gemini.key_names == ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    gateway = setup_hint("anthropic/claude", LLMSettings(api_key="k", api_base="http://g"), env)
    assert (gateway.key_names, gateway.base_names) == (("LLM_API_KEY",), ("LLM_API_BASE",))
    assert "sk-secret-value" not in repr(hint)


async def test_image_goes_to_openai_api_base_when_only_that_is_set(
    start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    async with start_bot() as probe:  # only for the fake's address
        base = probe.fake_llm.base_url
    monkeypatch.setenv("OPENAI_API_BASE", base)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    llm = LLMSettings(
        default_model=FAKE_MODEL, api_base=None, api_key=None, gateway_discovery=False,
        max_retries=0, timeout=5,
    )  # fmt: skip
    async with start_bot(llm=llm, media=MediaSettings(image_model="openai/gpt-image-1")) as r:
        tg, fake = r.tg, r.fake_llm
        admin = tg.user(ADMIN_ID, "Ada")
        await admin.send("/image a red square")
        photo = await tg.wait_for_message(admin.id, lambda m: m.kind == "photo")
        assert tg.file(photo.media[-1]["file_id"]).data == tiny_png()  # type: ignore[index]
        (request,) = fake.media_requests
        assert request.path.endswith("/images/generations")
        assert request.json["model"] == "gpt-image-1"
        # Chat goes the same way, as it always did.
        await admin.send("hi")
        await tg.wait_for_message(admin.id, lambda m: m.text == "echo: hi")


async def test_a_failing_image_model_names_its_setting_to_the_admin_only(
    running: Running,
) -> None:
    tg, fake = running.tg, running.fake_llm
    admin, friend = tg.user(ADMIN_ID, "Ada"), tg.user(FRIEND_ID, "Fred")
    fake.media.script(Reply.unauthorized(), Reply.server_error(), Reply.server_error())
    await admin.send("/image a cat")
    told = await tg.wait_for_message(admin.id, lambda m: "🔑" in m.text)
    assert "gpt-image-2" in told.text and "LLM_API_KEY" in told.text
    await friend.send("/image a cat")
    short = await tg.wait_for_message(friend.id, lambda m: "⚠️" in m.text or "🔌" in m.text)
    assert "/model" not in short.text


async def test_a_refused_strangers_id_is_logged(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    tg = running.tg
    caplog.set_level(logging.INFO, logger="app.bot.access.gate")
    stranger = tg.user(STRANGER_ID, "Sam")
    await stranger.send("hello?")
    await tg.wait_for_message(stranger.id)
    assert f"user id {STRANGER_ID}" in caplog.text
