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
        touched: set[int] = set()
        for message in messages:
            chat = self._chats.setdefault(message.chat_id, {})
            self._chats.move_to_end(message.chat_id)
            chat[message.message_id] = message.model_copy()
            touched.add(message.chat_id)
        for chat_id in touched:
            self._trim(chat_id, keep, max(m.at for m in messages if m.chat_id == chat_id))
        while len(self._chats) > self._max_chats:
            self._chats.popitem(last=False)

    def _trim(self, chat_id: int, keep: int, now: datetime) -> None:
        chat = self._chats[chat_id]
        for message_id in [i for i, m in chat.items() if m.expires_at <= now]:
            del chat[message_id]
        if len(chat) > keep:
            for message_id in sorted(chat)[: len(chat) - keep]:
                del chat[message_id]
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
