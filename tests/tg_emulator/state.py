"""Per-chat state and the token bucket used by the flood limiter."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .models import (
    ChatAction,
    Draft,
    EmuMessage,
)


@dataclass
class ChatState:
    """One chat as the emulator sees it. ``messages`` is what the user currently sees."""

    chat: dict[str, Any]
    messages_by_id: dict[int, EmuMessage] = field(default_factory=dict)
    next_message_id: int = 1
    actions: list[ChatAction] = field(default_factory=list)
    drafts: list[Draft] = field(default_factory=list)
    reply_keyboard: dict[str, Any] | None = None  # last ReplyKeyboardMarkup/Remove/ForceReply
    last_user_message_id: int = 0
    drafts_shown_until: int = 0  # len(drafts) when the bot last sent a message
    blocked: bool = False  # private chat: the user blocked the bot

    @property
    def id(self) -> int:
        return int(self.chat["id"])

    @property
    def type(self) -> str:
        return str(self.chat["type"])

    @property
    def messages(self) -> list[EmuMessage]:
        return [m for m in self.all_messages if not m.deleted]

    @property
    def all_messages(self) -> list[EmuMessage]:
        return sorted(self.messages_by_id.values(), key=lambda m: m.message_id)

    @property
    def bot_messages(self) -> list[EmuMessage]:
        return [m for m in self.messages if m.from_bot]

    @property
    def last(self) -> EmuMessage | None:
        visible = self.messages
        return visible[-1] if visible else None

    @property
    def last_bot_message(self) -> EmuMessage | None:
        visible = self.bot_messages
        return visible[-1] if visible else None

    @property
    def current_draft(self) -> Draft | None:
        """The draft a client shows now: the latest one, until the bot sends a message."""
        if len(self.drafts) > self.drafts_shown_until:
            return self.drafts[-1]
        return None

    def texts(self) -> list[str]:
        return [m.text for m in self.messages]


class _Bucket:
    """Token bucket; ``take`` returns 0 when allowed, else seconds until a token is free."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate, self.capacity = rate, capacity
        self.tokens, self.stamp = capacity, time.monotonic()

    def wait_time(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1
