"""FSM/dialog storage that survives a database outage.

aiogram-dialog reads its dialog stack from the FSM storage on *every* message and writes it
back afterwards, including plain chat messages that have nothing to do with a dialog. With
the state in MongoDB, a database outage would therefore turn every update into an error,
although chatting needs no FSM state at all. This wrapper degrades instead: a failed read
looks like "no state" (an open dialog then behaves as expired), a failed write is logged and
skipped. Everything works normally again as soon as the database answers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StorageKey

log = logging.getLogger(__name__)

StateType = str | State | None


class ResilientFSMStorage(BaseStorage):
    def __init__(self, inner: BaseStorage) -> None:
        self.inner = inner
        # For inspection (dialogs need a destiny-aware key builder in a shared storage).
        self.key_builder = getattr(inner, "_key_builder", None)
        self.failures = 0

    def _failed(self, op: str, key: StorageKey, exc: Exception) -> None:
        self.failures += 1
        log.warning(
            "fsm storage: %s for user %s failed (%s: %s); continuing without dialog state",
            op,
            key.user_id,
            type(exc).__name__,
            str(exc)[:200],
        )

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        try:
            await self.inner.set_state(key, state)
        except Exception as exc:
            self._failed("set_state", key, exc)

    async def get_state(self, key: StorageKey) -> str | None:
        try:
            return await self.inner.get_state(key)
        except Exception as exc:
            self._failed("get_state", key, exc)
            return None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        try:
            await self.inner.set_data(key, data)
        except Exception as exc:
            self._failed("set_data", key, exc)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        try:
            return await self.inner.get_data(key)
        except Exception as exc:
            self._failed("get_data", key, exc)
            return {}

    async def update_data(self, key: StorageKey, data: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return await self.inner.update_data(key, data)
        except Exception as exc:
            self._failed("update_data", key, exc)
            return dict(data)

    async def close(self) -> None:
        await self.inner.close()
