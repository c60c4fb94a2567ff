"""One chat message costs one user read: the record and the Caller the middleware loaded
travel with the update into the provider and the budget."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.e2e.conftest import FRIEND_ID, Running


class CountingUsers:
    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return await attr(*args, **kwargs)

        return counted


async def test_one_chat_message_costs_one_user_read(running: Running) -> None:
    tg = running.tg
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("warm up")  # first contact may bind names and create the record
    await tg.wait_for_message(friend.id, lambda m: m.text.startswith("echo:"))
    await tg.wait_quiet()

    counting = CountingUsers(running.storage.users)
    running.storage.users = counting  # type: ignore[assignment]
    await friend.send("how many reads?")
    await tg.wait_for_message(friend.id, lambda m: m.text == "echo: how many reads?")
    await tg.wait_quiet()
    assert dict(counting.calls) == {"upsert_seen": 1}
