"""Where a message belongs: its forum topic (each topic is its own conversation) and the
message it replies to, read from the Telegram update."""

from __future__ import annotations

from aiogram.types import Message

from app.services.chat.job import ReplyContext
from app.services.conversations.service import ConversationKey


def thread_of(message: Message) -> int:
    """The forum topic of ``message``; 0 outside topics. Only real topic messages count:
    in plain supergroups ``message_thread_id`` also marks reply threads."""
    if message.is_topic_message and message.message_thread_id:
        return message.message_thread_id
    return 0


def conversation_key(message: Message, user_id: int) -> ConversationKey:
    return ConversationKey(user_id, message.chat.id, thread_of(message))


def _name(user: object) -> str | None:
    first = getattr(user, "first_name", None) or ""
    last = getattr(user, "last_name", None) or ""
    full = f"{first} {last}".strip()
    username = getattr(user, "username", None)
    return full or (f"@{username}" if username else None)


def _forward_origin(message: Message) -> str | None:
    origin = message.forward_origin
    if origin is None:
        return None
    for attr in ("sender_user", "chat", "sender_chat"):
        found = getattr(origin, attr, None)
        if found is not None:
            return _name(found) or getattr(found, "title", None)
    return getattr(origin, "sender_user_name", None)


def reply_context(message: Message, bot_id: int) -> ReplyContext | None:
    """The replied-to message as quoted context; a partial quote (Telegram's "quote")
    wins over the whole text. A reply to the topic's opening service message is no reply."""
    replied = message.reply_to_message
    if replied is None or replied.forum_topic_created is not None:
        return None
    text = (message.quote.text if message.quote else None) or replied.text or replied.caption
    if not text:
        return None
    author = replied.from_user
    from_bot = author is not None and author.id == bot_id
    return ReplyContext(
        text=text,
        author=None if from_bot or author is None else _name(author),
        from_bot=from_bot,
        forwarded_from=_forward_origin(replied),
    )
