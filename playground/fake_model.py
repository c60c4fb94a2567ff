"""The model the playground uses when no provider key is set: the tests' OpenAI-compatible
fake, answering slowly enough to show the drafts, and saying that it is fake."""

from __future__ import annotations

from typing import Any

from tests.fakes.openai_server import FakeOpenAI, Reply

FAKE_PREFIX = "🤖 (fake model: no provider key is set in .env) You said:"


def _last_user_text(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


class PlaygroundFake(FakeOpenAI):
    def __init__(self) -> None:
        super().__init__(chunk_size=4)

    def _pick(self, body: dict[str, Any]) -> Reply:
        said = _last_user_text(body).strip() or "(nothing)"
        # Titles and other short calls get the same: the playground shows what it is.
        return Reply(text=f"{FAKE_PREFIX} {said[:500]}", chunk_delay=0.04)
