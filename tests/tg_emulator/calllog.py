"""The log of every API call the bot made, and whether the bot is busy."""

from __future__ import annotations

import time
from typing import Any

from .models import ApiCall
from .wire import UploadedFile


class CallLog:
    """Calls oldest first, with the internal errors and unknown methods they met."""

    def __init__(self) -> None:
        self.entries: list[ApiCall] = []
        self.errors: list[str] = []  # emulator-internal exceptions (served as 500)
        self.unknown_methods: list[str] = []  # 404s served
        self.active = 0  # calls running now, the idle long poll aside
        self.last_activity = 0.0

    def record(
        self, method: str, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> ApiCall:
        call = ApiCall(
            method=method,
            params=params,
            time=time.monotonic(),
            files={k: v.filename or k for k, v in files.items()},
        )
        self.entries.append(call)
        return call

    def started(self) -> None:
        self.active += 1
        self.last_activity = time.monotonic()

    def finished(self) -> None:
        self.active -= 1
        self.last_activity = time.monotonic()

    def idle_for(self, quiet: float) -> bool:
        return not self.active and time.monotonic() - self.last_activity >= quiet

    def select(
        self,
        method: str | None = None,
        *,
        chat_id: int | None = None,
        ok: bool | None = None,
        since: int = 0,
        skip_polling: bool = False,
    ) -> list[ApiCall]:
        return [
            c
            for c in self.entries[since:]
            if not (skip_polling and c.method.lower() == "getupdates")
            and (method is None or c.method.lower() == method.lower())
            and (chat_id is None or c.params.get("chat_id") == chat_id)
            and (ok is None or c.ok == ok)
        ]

    def counts(self, *, since: int = 0, skip_polling: bool = True) -> dict[str, int]:
        """Calls per method name since an index, in order of first use."""
        counts: dict[str, int] = {}
        for call in self.select(since=since, skip_polling=skip_polling):
            counts[call.method] = counts.get(call.method, 0) + 1
        return counts
