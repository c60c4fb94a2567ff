"""Rich messages (Bot API 10.1): sendRichMessage, sendRichMessageDraft and editMessageText's
``rich_message``. Validation and the plain-text rendering live in ``formatting.rich``.

On an old server (``behaviour.rich_messages`` off) the executor answers the two rich methods
404 "Not Found" like any unknown method, and editMessageText ignores ``rich_message`` (see
``messages.edit_message_text``), as an older telegram-bot-api ignores unknown parameters.
"""

from __future__ import annotations

from typing import Any

from ..chats import ChatState, unix_now
from ..formatting.rich import RichContent, RichError, check_rich_message
from ..models import Draft, EmuMessage
from ..state import EmulatorState
from ..wire import DRAFT_PEER_INVALID, NOT_MODIFIED, ApiError, bad_request
from .common import chat_for, markup, reply_to, topic
from .table import Handler, Request


def rich_content(params: dict[str, Any], *, draft: bool = False) -> RichContent:
    """The checked ``rich_message`` parameter, or Telegram's 400."""
    if params.get("rich_message") is None:
        raise bad_request("rich_message is empty")
    try:
        return check_rich_message(params["rich_message"], draft=draft)
    except RichError as exc:
        raise bad_request(exc.description) from None


def _show(msg: EmuMessage, content: RichContent) -> None:
    msg.kind, msg.text, msg.entities = "rich", content.text, []
    msg.rich_message, msg.rich_blocks = content.message, content.blocks
    msg.rich_source = content.source


async def send_rich_message(state: EmulatorState, req: Request) -> Any:
    params = req.params
    chat = chat_for(state, params)
    content = rich_content(params)
    keyboard = markup(params, chat)
    replied = reply_to(chat, params)
    kept = ("disable_notification", "message_thread_id", "message_effect_id")
    msg = state.chats.store_message(
        chat,
        state.bot.as_user(),
        content.text,
        kind="rich",
        reply_markup=keyboard,
        reply_to=replied,
        extra={k: params[k] for k in kept if k in params} | topic(chat, params),
    )
    _show(msg, content)  # same tick as the store: no waiter sees it half-made
    return state.chats.message_json(chat, msg)


async def send_rich_message_draft(state: EmulatorState, req: Request) -> Any:
    chat = chat_for(state, req.params)
    if chat.type != "private":
        raise ApiError(400, DRAFT_PEER_INVALID)
    if not state.behaviour.drafts_allowed:
        raise ApiError(*state.behaviour.draft_refusal)
    draft_id = req.params.get("draft_id")
    if not isinstance(draft_id, int) or draft_id == 0:
        raise bad_request("draft_id must be non-zero")
    content = rich_content(req.params, draft=True)
    chat.drafts.append(
        Draft(
            chat.id,
            draft_id,
            content.text,
            [],
            message_thread_id=req.params.get("message_thread_id"),
            can_stop=bool(req.params.get("can_stop")),
            keep_on_stop=bool(req.params.get("keep_on_stop")),
            rich_message=content.message,
            rich_blocks=content.blocks,
        )
    )
    return True


def edit_rich(state: EmulatorState, chat: ChatState, msg: EmuMessage, req: Request) -> Any:
    """editMessageText with ``rich_message``: a text or rich bot message becomes rich."""
    if msg.kind not in ("text", "rich"):
        raise bad_request("there is no text in the message to edit")
    content = rich_content(req.params)
    keyboard = markup(req.params, None)
    if msg.rich_message == content.message and keyboard == msg.reply_markup:
        raise bad_request(NOT_MODIFIED.removeprefix("Bad Request: "))
    msg.edits.append(msg.text)
    _show(msg, content)
    msg.reply_markup = keyboard
    msg.edit_date = unix_now()
    return state.chats.message_json(chat, msg)


HANDLERS: dict[str, Handler] = {
    "sendRichMessage": send_rich_message,
    "sendRichMessageDraft": send_rich_message_draft,
}
