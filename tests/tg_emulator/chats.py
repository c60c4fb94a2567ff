"""Chats and the messages in them, as Telegram stores them for both sides."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .changes import Changes
from .formatting import Entity
from .models import ChatAction, Draft, EmuMessage


def unix_now() -> int:
    return int(time.time())


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

    def bot_message_after(
        self, floor: int, predicate: Callable[[EmuMessage], bool] | None = None
    ) -> EmuMessage | None:
        """The first visible bot message with an id above ``floor`` matching ``predicate``."""
        newer = (m for m in self.bot_messages if m.message_id > floor)
        return next((m for m in newer if predicate is None or predicate(m)), None)


class Chats:
    """Every chat the emulator knows, by id; users and groups are added by the test."""

    def __init__(self, changes: Changes) -> None:
        self.by_id: dict[int, ChatState] = {}
        self._changes = changes

    def add(self, chat: dict[str, Any]) -> ChatState:
        """The chat with that id, created from ``chat`` (a Bot API Chat) the first time."""
        return self.by_id.setdefault(int(chat["id"]), ChatState(chat=chat))

    def add_private(
        self, user_id: int, first_name: str, username: str | None, last_name: str | None
    ) -> ChatState:
        """A user's private chat with the bot (its id is the user's)."""
        chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": first_name}
        chat.update({k: v for k, v in (("username", username), ("last_name", last_name)) if v})
        self.by_id[user_id] = ChatState(chat=chat)
        return self.by_id[user_id]

    def add_group(self, group_id: int, title: str, username: str | None) -> ChatState:
        """A supergroup the bot is a member of (kept as it is if it exists)."""
        chat: dict[str, Any] = {"id": group_id, "type": "supergroup", "title": title}
        if username:
            chat["username"] = username
        return self.add(chat)

    def get(self, chat_id: int) -> ChatState:
        try:
            return self.by_id[chat_id]
        except KeyError:
            raise KeyError(
                f"emulator knows no chat {chat_id}; create it with user()/group()"
            ) from None

    def find(self, chat_id: int | str) -> ChatState | None:
        """A chat by id or by ``@username``, as a ``chat_id`` parameter names it."""
        if isinstance(chat_id, str):
            named = (c for c in self.by_id.values() if f"@{c.chat.get('username')}" == chat_id)
            return next(named, None)
        return self.by_id.get(chat_id)

    def store_message(
        self,
        chat: ChatState,
        from_user: dict[str, Any],
        text: str = "",
        entities: list[Entity] | None = None,
        *,
        kind: str = "text",
        media: Any = None,
        reply_markup: dict[str, Any] | None = None,
        reply_to: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> EmuMessage:
        msg = EmuMessage(
            message_id=chat.next_message_id,
            chat=dict(chat.chat),
            from_user=dict(from_user),
            date=unix_now(),
            text=text,
            entities=list(entities or []),
            reply_markup=reply_markup,
            kind=kind,
            media=media,
            reply_to_message_id=reply_to,
            extra=dict(extra or {}),
        )
        chat.next_message_id += 1
        chat.messages_by_id[msg.message_id] = msg
        if msg.from_bot:
            chat.drafts_shown_until = len(chat.drafts)  # a sent message replaces the draft
        else:
            chat.last_user_message_id = msg.message_id
        self._changes.notify()
        return msg

    def message_json(self, chat: ChatState, msg: EmuMessage) -> dict[str, Any]:
        """Bot API Message JSON, with the message it replies to."""
        reply = chat.messages_by_id.get(msg.reply_to_message_id or 0)
        return msg.to_api(with_reply=reply)
