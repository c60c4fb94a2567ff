"""Every group message the bot sees goes into the group's history (app.services.groups),
before anything else looks at it: strangers' messages too, since they are part of what was
said (a stranger still never causes a model call: the access gate comes later). Private
chats are never recorded. Queuing is all this does on the message's path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject, Update

from app.bot.chat.threads import display_name, is_group, thread_of
from app.services.groups.history import GroupHistory, HeardMessage

# What a message without text shows in the history, by the field that carries it.
_MARKERS = (
    ("photo", "[photo]"),
    ("video", "[video]"),
    ("animation", "[GIF]"),
    ("voice", "[voice message]"),
    ("video_note", "[video message]"),
    ("audio", "[audio]"),
    ("document", "[file]"),
    ("sticker", "[sticker]"),
    ("poll", "[poll]"),
    ("location", "[location]"),
    ("contact", "[contact]"),
)


def history_text(message: Message) -> str:
    """The text or caption, after a short marker for its media; empty for service messages."""
    if message.text is not None:
        return message.text  # a text message carries no media: the common case, kept quick
    marker = next((m for attr, m in _MARKERS if getattr(message, attr, None)), "")
    if message.sticker is not None and message.sticker.emoji:
        marker = f"[sticker {message.sticker.emoji}]"
    return f"{marker} {message.caption or ''}".strip()


def heard(message: Message) -> HeardMessage | None:
    """``message`` as group history; None when it is not a group's or says nothing."""
    if not is_group(message.chat):
        return None
    text = history_text(message)
    if not text:
        return None
    # An anonymous admin or a channel writes as a chat.
    sender: object | None = message.sender_chat or message.from_user
    if sender is None:
        return None
    name = display_name(sender) or getattr(sender, "title", None) or "?"
    return HeardMessage(
        chat_id=message.chat.id,
        thread_id=thread_of(message),
        message_id=message.message_id,
        sender_id=int(getattr(sender, "id", 0)),
        sender_name=name,
        text=text,
    )


class RecordGroupMessages(BaseMiddleware):
    def __init__(self, history: GroupHistory) -> None:
        self._history = history

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if self._history.enabled and isinstance(event, Update):
            message = event.message or event.edited_message
            if message is not None:
                found = heard(message)
                if found is not None:
                    self._history.note(found)
        return await handler(event, data)
