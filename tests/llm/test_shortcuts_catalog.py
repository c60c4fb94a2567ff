from __future__ import annotations

import pytest

from llmdoor import BUILTIN_SHORTCUTS, LLMProvider, LLMSettings, UnknownModel
from llmdoor.models.catalog import is_available, list_models, vision_flag
from llmdoor.models.shortcuts import resolve_model
from llmdoor.runtime import _litellm
from llmdoor.settings import parse_shortcuts


@pytest.mark.parametrize(("shortcut", "model_id"), sorted(BUILTIN_SHORTCUTS.items()))
def test_every_builtin_shortcut_is_in_litellms_map(shortcut: str, model_id: str) -> None:
    info = _litellm().get_model_info(model_id)  # raises for an id the map does not know
    assert info["mode"] in ("chat", "responses"), (shortcut, model_id, info["mode"])


def test_required_shortcuts_exist() -> None:
    required = {
        "claude-3.7", "gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3", "o4-mini",
        "gemini-2.5-pro", "gemini-2.5-flash", "claude-sonnet", "claude-opus", "claude-haiku",
        "deepseek-chat", "deepseek-reasoner",
    }  # fmt: skip
    assert required <= set(BUILTIN_SHORTCUTS)
    assert "3-7-sonnet" in BUILTIN_SHORTCUTS["claude-3.7"]


def test_unknown_model_suggests_closest_shortcuts() -> None:
    with pytest.raises(UnknownModel) as info:
        resolve_model("gpt4o-mini")
    assert info.value.name == "gpt4o-mini"
    assert "gpt-4o-mini" in info.value.suggestions
    assert "gpt4o-mini" in str(info.value) and "gpt-4o-mini" in str(info.value)
    assert info.value.kind == "unknown_model"


def test_full_ids_pass_through_unchanged() -> None:
    for model_id in (
        "openai/gpt-4o",
        "anthropic/claude-sonnet-4-5",
        "openrouter/meta-llama/llama-3.1-70b-instruct",
        "ollama/llama3",
        "hosted_vllm/my-model",
    ):
        assert resolve_model(model_id) == model_id
    assert resolve_model("GPT-4o") == "openai/gpt-4o"  # shortcuts are case-insensitive


def test_user_shortcuts_from_env_in_both_formats(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_SHORTCUTS", "mine=openai/gpt-4o, local=ollama/llama3")
    assert LLMSettings().shortcuts == {"mine": "openai/gpt-4o", "local": "ollama/llama3"}
    monkeypatch.setenv(
        "LLM_SHORTCUTS", '{"Mine": "openai/gpt-4o", "gpt-4o": "openrouter/openai/gpt-4o"}'
    )
    provider = LLMProvider(LLMSettings())
    assert provider.resolve_model("mine") == "openai/gpt-4o"
    assert provider.resolve_model("gpt-4o") == "openrouter/openai/gpt-4o"  # user entries win
    with pytest.raises(ValueError):
        parse_shortcuts("broken-entry")


def test_availability_follows_provider_keys() -> None:
    env = {"OPENAI_API_KEY": "x", "DEEPSEEK_API_KEY": "y"}
    assert is_available("openai/gpt-4o", env)
    assert is_available("deepseek/deepseek-chat", env)
    assert not is_available("anthropic/claude-sonnet-5-5", env)
    assert not is_available("gemini/gemini-2.5-pro", env)
    assert is_available("gemini/gemini-2.5-pro", {"GEMINI_API_KEY": "z"})
    # Local servers need no key, but are offered only once their address is configured.
    assert not is_available("ollama/llama3", {})
    assert is_available("ollama/llama3", {"OLLAMA_API_BASE": "http://gpu-box:11434"})
    assert is_available("hosted_vllm/x", {"HOSTED_VLLM_API_BASE": "http://vllm:8000"})
    assert is_available("custom_gw/x", {})  # a provider the table does not know: trusted


def test_list_models_reports_map_data() -> None:
    env = {"OPENAI_API_KEY": "x"}
    available = list_models(env=env)
    assert available and {m.provider for m in available} == {"openai"}
    with_ollama = list_models(env={**env, "OLLAMA_API_BASE": "http://localhost:11434"})
    assert {m.provider for m in with_ollama} == {"openai", "ollama"}
    assert {"gpt-4o", "gpt-4o-mini"} <= {m.shortcut for m in available}
    everything = {m.shortcut: m for m in list_models(available_only=False, env=env)}
    assert set(everything) >= set(BUILTIN_SHORTCUTS)
    mini = everything["gpt-4o-mini"]
    assert mini.model_id == "openai/gpt-4o-mini"
    assert mini.available and mini.supports_vision
    assert mini.context_window and mini.context_window >= 100_000
    assert mini.input_price_per_mtok == pytest.approx(0.15)
    assert mini.output_price_per_mtok == pytest.approx(0.6)
    assert not everything["claude-sonnet"].available
    local = list_models(
        env={"HOSTED_VLLM_API_BASE": "http://vllm:8000"},
        shortcuts={"local": "hosted_vllm/my-model"},
    )
    custom = next(m for m in local if m.shortcut == "local")
    assert (
        custom.available and custom.context_window is None and custom.input_price_per_mtok is None
    )


def test_vision_and_context_window(provider: LLMProvider) -> None:
    assert provider.supports_vision("gpt-4o")
    assert not provider.supports_vision("deepseek-v4-pro")
    assert vision_flag("deepseek/deepseek-v4-pro") is False
    assert vision_flag("openai/fake-model") is None  # unknown: not refused
    assert provider.model_context_window("gpt-4o-mini") == 128000
    assert provider.model_context_window("openai/fake-model") is None
