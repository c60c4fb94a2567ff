from __future__ import annotations

from llmdoor import LLMProvider, LLMSettings


def _history(turns: int, words: int = 200) -> list[dict[str, str]]:
    history = []
    for i in range(turns):
        history.append({"role": "user", "content": f"question {i} " + "word " * words})
        history.append({"role": "assistant", "content": f"answer {i} " + "word " * words})
    return history


def test_fit_history_keeps_everything_when_it_fits() -> None:
    provider = LLMProvider(LLMSettings())
    history = _history(3, words=10)
    assert provider.fit_history("gpt-4o-mini", "be nice", history, "hi") == history


def test_fit_history_drops_oldest_turns_first() -> None:
    # An unknown model uses the configured default window: small enough to force trimming.
    provider = LLMProvider(LLMSettings(default_context_window=2000))
    history = _history(10)
    kept = provider.fit_history("openai/fake-model", "be nice", history, "hi", reserve_tokens=200)
    assert 0 < len(kept) < len(history)
    assert kept == history[len(history) - len(kept) :]  # a suffix: the newest turns
    assert kept[0]["role"] == "user"  # never starts with an orphaned answer
    assert "question 9" in kept[-2]["content"]


def test_fit_history_returns_empty_when_prompt_alone_is_too_big() -> None:
    provider = LLMProvider(LLMSettings(default_context_window=300))
    kept = provider.fit_history("openai/fake-model", None, _history(2), "word " * 1000, 100)
    assert kept == []
