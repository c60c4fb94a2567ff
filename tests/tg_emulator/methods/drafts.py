"""What a chat shows while the bot works: streamed drafts and chat actions ("typing…")."""

from __future__ import annotations

from typing import Any

from ..models import ChatAction, Draft
from ..state import EmulatorState
from ..wire import CHAT_ACTIONS, DRAFT_PEER_INVALID, ApiError, bad_request
from .common import chat_for, formatted
from .table import Handler, Request


async def send_message_draft(state: EmulatorState, req: Request) -> Any:
    chat = chat_for(state, req.params)
    if chat.type != "private":
        raise ApiError(400, DRAFT_PEER_INVALID)
    if not state.behaviour.drafts_allowed:
        raise ApiError(*state.behaviour.draft_refusal)
    draft_id = req.params.get("draft_id")
    if not isinstance(draft_id, int) or draft_id == 0:
        raise bad_request("draft_id must be non-zero")
    # An empty draft is valid: clients show a "Thinking…" placeholder.
    text, entities = formatted(state, req.params, required=False)
    chat.drafts.append(
        Draft(
            chat.id,
            draft_id,
            text,
            entities,
            message_thread_id=req.params.get("message_thread_id"),
            can_stop=bool(req.params.get("can_stop")),
            keep_on_stop=bool(req.params.get("keep_on_stop")),
        )
    )
    return True


async def send_chat_action(state: EmulatorState, req: Request) -> Any:
    chat = chat_for(state, req.params)
    action = req.params.get("action")
    if not isinstance(action, str) or action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    chat.actions.append(ChatAction(chat.id, action))
    return True


HANDLERS: dict[str, Handler] = {
    "sendMessageDraft": send_message_draft,
    "sendChatAction": send_chat_action,
}
