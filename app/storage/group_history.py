"""The storage contract for group history: the last messages the bot saw in a group, kept
so ``/catchup`` can tell a member what was said while they were away.

Bounded twice: each chat keeps only its newest ``keep`` messages (by message id), and each
message carries the time it ``expires_at``, after which reads never return it (MongoDB
also drops it by a TTL index; a server without a TTL monitor is still correct, because
reads filter by time). Messages of private chats are never stored: the caller records
groups only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from pydantic import BaseModel


class GroupMessage(BaseModel):
    chat_id: int
    thread_id: int = 0  # the forum topic; 0 outside topics
    message_id: int
    sender_id: int
    sender_name: str
    text: str  # the text or caption; media as a short marker such as "[photo]"
    at: datetime
    expires_at: datetime


@runtime_checkable
class GroupHistoryRepository(Protocol):
    async def add(self, messages: Sequence[GroupMessage], *, keep: int) -> None:
        """Store ``messages``; one of the same chat and message id replaces the stored one
        (an edit). Afterwards each chat written to keeps at most its newest ``keep``."""
        ...

    async def recent(
        self, chat_id: int, *, thread_id: int | None, now: datetime, limit: int
    ) -> list[GroupMessage]:
        """The newest ``limit`` messages of the chat (of one topic when ``thread_id`` is
        not None) that have not expired at ``now``, oldest first."""
        ...
