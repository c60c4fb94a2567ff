"""Where a message belongs and whom it is for: the kind of chat (private or a group), its
forum topic (each topic is its own conversation), the message it replies to, and whether
it is addressed to the bot, read from the Telegram update.

The one home of these rules in the bot layer: every router, dialog and middleware asks
these functions (tests/bot/test_one_home.py keeps it so)."""

from __future__ import annotations

import re

from aiogram import Bot, F
from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.types import Chat, Message

from app.config import Settings
from app.services.chat.job import ReplyContext
from app.services.conversations.service import ConversationKey

GROUP_CHATS = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})

#: The magic filter of private chats, for handlers registered with ``OnLoop(PRIVATE_CHAT)``.
PRIVATE_CHAT = F.chat.type == ChatType.PRIVATE


def is_private(chat: Chat) -> bool:
    """A one-to-one chat with the bot."""
    return chat.type == ChatType.PRIVATE


def is_group(chat: Chat) -> bool:
    """A group or supergroup (channels are neither private nor groups)."""
    return chat.type in GROUP_CHATS


def thread_of(message: Message) -> int:
    """The forum topic of ``message``; 0 outside topics. Only real topic messages count:
    in plain supergroups ``message_thread_id`` also marks reply threads."""
    if message.is_topic_message and message.message_thread_id:
        return message.message_thread_id
    return 0


def answer_thread(message: Message) -> int | None:
    """The ``message_thread_id`` an answer to ``message`` is sent with: its forum topic,
    None outside topics."""
    return thread_of(message) or None


def conversation_key(message: Message, user_id: int) -> ConversationKey:
    return ConversationKey(user_id, message.chat.id, thread_of(message))


def _name(user: object) -> str | None:
    first = getattr(user, "first_name", None) or ""
    last = getattr(user, "last_name", None) or ""
    full = f"{first} {last}".strip()
    username = getattr(user, "username", None)
    return full or (f"@{username}" if username else None)


def display_name(user: object) -> str | None:
    """A person's (or a chat's) name as members see it: full name, else @username."""
    return _name(user)


def forwarded_from(message: Message) -> str | None:
    """Who wrote the message ``message`` forwards (a user's name or a chat's title); None
    when it is no forward or the origin is unknown."""
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
        forwarded_from=forwarded_from(replied),
    )


class AddressedToBot(Filter):
    """Private chats always; in groups only when the bot is mentioned or replied to, or
    the message starts with one of the GROUP_TRIGGER words (``settings``: handed in by
    aiogram from the workflow data)."""

    async def __call__(
        self, message: Message, bot: Bot, settings: Settings | None = None
    ) -> bool | dict[str, str]:
        if is_private(message.chat):
            return True
        if not is_group(message.chat):
            return False
        me = await bot.me()
        reply = message.reply_to_message
        if reply is not None and reply.from_user is not None and reply.from_user.id == me.id:
            return True
        text = message.text or message.caption or ""
        mention = f"@{me.username}".lower() if me.username else None
        for entity in message.entities or message.caption_entities or []:
            if (
                entity.type == "mention"
                and mention
                and entity.extract_from(text).lower() == mention
            ):
                return {"bot_mention": entity.extract_from(text)}
        if settings is not None:
            trigger = trigger_of(text, settings.groups.trigger_words)
            if trigger is not None:
                return {"bot_mention": trigger}
        return False


# After a trigger word: no apostrophe, hyphen, dot or slash joined to more of a word
# ("jarvis.com", "jarvis's", "jarvis-like" are other words that start with it).
_NOT_A_LONGER_TOKEN = r"(?![.'’\-/@]\w)"


def trigger_of(text: str, words: tuple[str, ...]) -> str | None:
    """The trigger word ``text`` starts with, as written (a whole word, any case), with
    the punctuation after it ("Bot, what is…"); None when it starts with none."""
    for word in words:
        found = re.match(
            rf"\s*{re.escape(word)}(?!\w){_NOT_A_LONGER_TOKEN}[\s,:;.!?]*", text, re.IGNORECASE
        )
        if found:
            return found.group(0)
    return None


def strip_mention(text: str, mention: str | None) -> str:
    """``text`` without the ``@bot`` mention (or the trigger word it starts with) that
    addressed it (``bot_mention`` of :class:`AddressedToBot`)."""
    if not mention:
        return text
    if text.startswith(mention):
        return text[len(mention) :].strip()
    return text.replace(mention, "").strip()
