"""One answer outside the user's own chats: inline mode (``@bot question`` in any chat) and
guest mode (the bot mentioned in a chat it is not a member of).

It is the person who asked who answers: their access, their model and persona (those of
their private chat's active conversation), their budget (llmdoor reserves before the call
and charges the real cost after it, recorded as usage of kind chat). It runs the same
model call path as the private chat (:meth:`ChatService.run`), with a difference: the
answer lands in a chat other people read, so nothing private goes into it (no history,
no personal memory) and nothing of it is kept in the user's conversations."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from app.services.chat.context import with_reply
from app.services.chat.job import AnswerJob, AnswerSink, ChatOutcome, ReplyContext
from app.services.chat.service import ChatService
from app.services.conversations.service import ConversationKey
from app.storage import Conversation, Turn, UserRecord
from app.storage.errors import StorageUnavailable
from llmdoor import Caller

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OneShotRequest:
    user: UserRecord
    caller: Caller
    text: str
    reply: ReplyContext | None = None  # the message the question replies to (guest mode)


async def _not_kept(_answer: str, _model: str, _tools: Sequence[Turn]) -> bool:
    return False  # the answer belongs to the chat it was posted in, not to a conversation


async def _private_conversation(chat: ChatService, user: UserRecord) -> Conversation | None:
    """The active conversation of the user's private chat with the bot (a private chat's id
    is the user's): its model and persona are the ones the user chose."""
    try:
        return await chat.conversations.active(
            ConversationKey(user.user_id, user.user_id, 0), user.model
        )
    except StorageUnavailable:
        log.warning("one-shot: conversation of user %s unavailable; defaults", user.user_id)
        return None


async def model_for(chat: ChatService, user: UserRecord) -> str:
    """The model a one-shot answer of ``user`` comes from (shown in the inline result)."""
    return chat.model_for(user, await _private_conversation(chat, user))


async def answer_once(chat: ChatService, request: OneShotRequest, sink: AnswerSink) -> ChatOutcome:
    """Stream one answer to ``request`` into ``sink`` through the chat service's call path."""
    conversation = await _private_conversation(chat, request.user)
    job = AnswerJob(
        prompt=with_reply(request.text, request.reply),
        model=chat.model_for(request.user, conversation),
        history=[],
        caller=request.caller,
        user_id=request.user.user_id,
        chat_id=request.user.user_id,  # the tools the user has in their private chat
        conversation_id=None,
        save=_not_kept,
        system_prompt=await chat.persona_prompt(conversation),
    )
    return await chat.run(job, sink)


__all__ = ["OneShotRequest", "answer_once", "model_for"]
