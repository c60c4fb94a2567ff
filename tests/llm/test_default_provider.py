from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

import llmdoor as llm
from llmdoor import AccessSettings, LLMProvider, MediaSettings
from tests.fakes.openai_server import FakeOpenAI, Reply


class Answer(BaseModel):
    value: int


@pytest.fixture
def default(provider: LLMProvider) -> Iterator[LLMProvider]:
    llm.set_default_provider(provider)
    yield provider
    llm.set_default_provider(None)


async def test_module_level_async_functions(default: LLMProvider, fake: FakeOpenAI) -> None:
    assert llm.get_default_provider() is default
    assert await llm.aquery_llm("a") == "echo: a"
    assert await llm.aquery_llm_text("b") == "echo: b"
    assert (await llm.aquery_llm_raw("c")).choices[0].message.content == "echo: c"
    fake.script(Reply.json({"value": 3}))
    assert await llm.aquery_llm_structured("d", Answer) == Answer(value=3)
    assert "".join([c async for c in llm.aquery_llm_stream("e")]) == "echo: e"


def test_module_level_sync_functions(default: LLMProvider, fake: FakeOpenAI) -> None:
    assert llm.query_llm("a") == "echo: a"
    assert llm.query_llm_text("b") == "echo: b"
    assert llm.query_llm_raw("c").choices[0].message.content == "echo: c"
    fake.script(Reply.json({"value": 4}))
    assert llm.query_llm_structured("d", Answer) == Answer(value=4)
    assert "".join(llm.query_llm_stream("e")) == "echo: e"
    assert llm.resolve_model("gpt-4o") == "openai/gpt-4o"
    assert llm.supports_vision("gpt-4o") and llm.model_context_window("gpt-4o")
    assert all(m.available for m in llm.list_models())  # LLM_API_KEY set: a gateway


def test_default_provider_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_DEFAULT_MODEL", "claude-sonnet")
    monkeypatch.setenv("ACCESS_ADMINS", "1")
    llm.set_default_provider(None)
    try:
        provider = llm.get_default_provider()
        assert provider.settings.default_model == "claude-sonnet"
        assert provider.resolve_model(None) == "anthropic/claude-sonnet-5-5"
        assert provider.access is not None
    finally:
        llm.set_default_provider(None)
    monkeypatch.delenv("ACCESS_ADMINS")
    # No ACCESS_* rules: the gate stays closed, exactly as in the bot.
    provider = LLMProvider.from_env()
    assert provider.access is not None and not provider.access.settings.is_configured


async def test_env_provider_enforces_access_like_the_bot(
    monkeypatch: pytest.MonkeyPatch, fake: FakeOpenAI
) -> None:
    from llmdoor import AccessDenied

    monkeypatch.setenv("LLM_API_BASE", fake.base_url)
    monkeypatch.setenv("LLM_API_KEY", "sk-test")
    monkeypatch.setenv("LLM_DEFAULT_MODEL", "openai/fake-model")
    for name in ("ACCESS_ADMINS", "ACCESS_FRIENDS", "ACCESS_ALLOW_EVERYONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ACCESS_SINGLE_USER_MODE", "false")
    with pytest.raises(AccessDenied, match="user_id"):
        await LLMProvider.from_env().aquery_llm("no user")
    with pytest.raises(AccessDenied):
        await LLMProvider.from_env().aquery_llm("a stranger", user_id=42)
    assert fake.chat_requests == []

    monkeypatch.setenv("ACCESS_SINGLE_USER_MODE", "true")
    assert await LLMProvider.from_env().aquery_llm("owner") == "echo: owner"
    monkeypatch.setenv("ACCESS_SINGLE_USER_MODE", "false")
    monkeypatch.setenv("ACCESS_FRIENDS", "42")
    assert await LLMProvider.from_env().aquery_llm("friend", user_id=42) == "echo: friend"


async def test_env_provider_reads_dotenv_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeOpenAI
) -> None:
    """A library user's .env configures LLM_*, ACCESS_* and the provider keys litellm reads
    from os.environ; a variable set in the environment still wins."""
    names = ("LLM_API_BASE", "LLM_API_KEY", "LLM_DEFAULT_MODEL", "LLM_TIMEOUT", "OPENAI_API_KEY")
    for name in (*names, "ACCESS_SINGLE_USER_MODE", "LLM_SPEECH_VOICE"):
        monkeypatch.setenv(name, "")  # recorded, so that what .env adds is removed afterwards
        monkeypatch.delenv(name)
    (tmp_path / ".env").write_text(
        f"LLM_API_BASE={fake.base_url}\n"
        "LLM_DEFAULT_MODEL=openai/fake-model\n"
        "LLM_TIMEOUT=7\n"
        "LLM_SPEECH_VOICE=nova\n"
        "OPENAI_API_KEY=sk-from-dotenv\n"
        "ACCESS_SINGLE_USER_MODE=true\n"
    )
    monkeypatch.chdir(tmp_path)
    assert AccessSettings().single_user_mode and MediaSettings().speech_voice == "nova"

    monkeypatch.setenv("LLM_TIMEOUT", "9")
    provider = LLMProvider.from_env()
    assert provider.settings.default_model == "openai/fake-model"
    assert provider.settings.timeout == 9
    assert os.environ["OPENAI_API_KEY"] == "sk-from-dotenv"
    assert await provider.aquery_llm("owner") == "echo: owner"
    assert fake.chat_requests[-1].headers["Authorization"] == "Bearer sk-from-dotenv"

    monkeypatch.delenv("OPENAI_API_KEY")
    LLMProvider.from_env(env_file=None)
    assert "OPENAI_API_KEY" not in os.environ
