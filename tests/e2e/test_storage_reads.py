"""One chat message costs one user read: the record and the Caller the middleware loaded
travel with the update into the provider and the budget. Every storage call one message
makes is counted and printed (run with -s)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from app.storage import open_memory_storage
from tests.e2e.conftest import FRIEND_ID, STRANGER_ID, StartBot

REPOSITORIES = ("users", "conversations", "usage", "spend", "identities", "requests")


class Counting:
    def __init__(self, name: str, inner: Any, calls: Counter[str]) -> None:
        self._name = name
        self._inner = inner
        self._calls = calls

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._inner, attr)
        if not callable(value):
            return value

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self._calls[f"{self._name}.{attr}"] += 1
            return await value(*args, **kwargs)

        return counted


@pytest.mark.parametrize("who", ["friend_in_settings", "approved_user"])
async def test_one_chat_message_costs_one_user_read(start_bot: StartBot, who: str) -> None:
    storage = open_memory_storage()
    calls: Counter[str] = Counter()
    for name in REPOSITORIES:  # before the app is built, so every holder sees the proxies
        setattr(storage, name, Counting(name, getattr(storage, name), calls))
    async with start_bot(storage=storage) as running:
        tg = running.tg
        user_id = FRIEND_ID if who == "friend_in_settings" else STRANGER_ID
        if who == "approved_user":
            await storage.users.set_approved(STRANGER_ID, True)
        user = tg.user(user_id, "Fred")
        await user.send("warm up")  # first contact creates the record
        await tg.wait_for_message(user.id, lambda m: m.text.startswith("echo:"))
        await tg.wait_quiet()
        await storage.usage_sink.flush()

        calls.clear()
        await user.send("how many reads?")
        await tg.wait_for_message(user.id, lambda m: m.text == "echo: how many reads?")
        await tg.wait_quiet()
        await storage.usage_sink.flush()
        print(f"storage calls for one message ({who}): {dict(calls)}")
        users = {k: v for k, v in calls.items() if k.startswith("users.")}
        assert users == {"users.upsert_seen": 1}
        assert calls["spend.reserve"] == 1  # the budget is one atomic counter update
