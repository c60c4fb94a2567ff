"""Group history in memory: one process, so one dict per chat. Bounded: ``keep`` messages
per chat, at most ``max_chats`` chats (the one written to least recently goes first), and
expired messages are dropped whenever their chat is written to."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime

from app.storage.group_history import GroupMessage

DEFAULT_MAX_CHATS = 1_000


class MemoryGroupHistoryRepository:
    def __init__(self, max_chats: int = DEFAULT_MAX_CHATS) -> None:
        self._max_chats = max_chats
        # chat id -> message id -> message; chats in the order they were last written to.
        self._chats: OrderedDict[int, dict[int, GroupMessage]] = OrderedDict()

    async def add(self, messages: Sequence[GroupMessage], *, keep: int) -> None:
        newest: dict[int, datetime] = {}
        for message in messages:
            chat = self._chats.get(message.chat_id)
            if chat is None:
                chat = self._chats[message.chat_id] = {}
            self._chats.move_to_end(message.chat_id)
            last = next(reversed(chat), None) if chat else None
            chat[message.message_id] = message.model_copy()
            if last is not None and message.message_id < last:  # came late: keep id order
                self._chats[message.chat_id] = dict(sorted(chat.items()))
            at = newest.get(message.chat_id)
            newest[message.chat_id] = message.at if at is None else max(at, message.at)
        for chat_id, now in newest.items():
            self._trim(chat_id, keep, now)
        while len(self._chats) > self._max_chats:
            self._chats.popitem(last=False)

    def _trim(self, chat_id: int, keep: int, now: datetime) -> None:
        # Each chat's dict is in message id order, so the oldest are at its front.
        chat = self._chats[chat_id]
        while chat:
            oldest = next(iter(chat))
            if len(chat) <= keep and chat[oldest].expires_at > now:
                break
            del chat[oldest]
        if not chat:
            del self._chats[chat_id]

    async def recent(
        self, chat_id: int, *, thread_id: int | None, now: datetime, limit: int
    ) -> list[GroupMessage]:
        chat = self._chats.get(chat_id, {})
        live = [
            m.model_copy()
            for _, m in sorted(chat.items())
            if m.expires_at > now and (thread_id is None or m.thread_id == thread_id)
        ]
        return live[-limit:] if limit > 0 else []

    @property
    def chats(self) -> int:
        """Chats held (tests of the bound)."""
        return len(self._chats)
