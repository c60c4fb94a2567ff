"""The conversation key of a dialog event: who, in which chat and forum topic."""

from __future__ import annotations

from typing import Any

from aiogram.types import Chat, User
from aiogram_dialog import DialogManager

from app.bot.chat.threads import is_group
from app.services.conversations.service import ConversationKey


def key_from(data: dict[str, Any]) -> ConversationKey:
    """From middleware data (aiogram's user-context middleware fills these for messages
    and callbacks alike; the thread only for real forum topics)."""
    user: User = data["event_from_user"]
    chat: Chat = data["event_chat"]
    return ConversationKey(user.id, chat.id, data.get("event_thread_id") or 0)


def key_of(manager: DialogManager) -> ConversationKey:
    return key_from(manager.middleware_data)


async def chat_kind_getter(event_chat: Chat, **_kwargs: Any) -> dict[str, Any]:
    """``in_group`` for the windows that wait for typed text: with privacy mode on, a bot
    in a group only receives replies to its messages, so the window says to reply."""
    return {"in_group": is_group(event_chat)}
