"""aiogram's ``Response[T]`` models survive garbage collection in the running bot, so no
Bot API call rebuilds one (pydantic caches them only weakly; rebuilding cost 1-5 ms a
call, about 7 % of the event loop's busy time under load)."""

from __future__ import annotations

import gc
from collections import Counter
from typing import Any

import pydantic._internal._generics as pydantic_generics
import pytest

from tests.e2e.conftest import FRIEND_ID, Running


@pytest.fixture
def response_builds(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    built: Counter[str] = Counter()
    create = pydantic_generics.create_generic_submodel

    def counting(name: str, origin: Any, args: Any, params: Any) -> Any:
        built[name] += 1
        return create(name, origin, args, params)

    monkeypatch.setattr(pydantic_generics, "create_generic_submodel", counting)
    return built


async def test_no_bot_api_call_rebuilds_its_response_model_after_a_collection(
    running: Running, response_builds: Counter[str]
) -> None:
    tg, friend = running.tg, running.tg.user(FRIEND_ID, "Fred")
    for text in ("first", "second"):  # the second also tidies the first one's buttons
        await friend.send(text)
        await tg.wait_for_message(FRIEND_ID, lambda m, text=text: m.text == f"echo: {text}")
        await tg.wait_quiet()
    gc.collect()
    response_builds.clear()
    calls = len(tg.calls())

    await friend.send("third")
    await tg.wait_for_message(FRIEND_ID, lambda m: m.text == "echo: third")
    await tg.wait_quiet()

    # The third answer made the second one's calls: typing, a draft, the final, a tidy.
    assert {c.method for c in tg.calls()[calls:]} >= {"sendChatAction", "sendMessage"}
    assert not [name for name in response_builds if name.startswith("Response[")]
