"""Sending, editing and deleting messages, text and media."""

from __future__ import annotations

from typing import Any

from ..chats import ChatState, unix_now
from ..files import media_object
from ..formatting import Entity, sort_entities
from ..models import EmuMessage
from ..state import EmulatorState
from ..wire import NOT_MODIFIED, bad_request, first_file_id
from .common import (
    chat_for,
    editable_message,
    fetch_url_file,
    formatted,
    input_file,
    markup,
    reply_to,
    target_message,
    topic,
)
from .inline import edit_inline_markup, edit_inline_text
from .rich import edit_rich
from .table import Handler, Request

_NOT_MODIFIED = NOT_MODIFIED.removeprefix("Bad Request: ")
_FOLDERS = {"photo": ("photos", "jpg"), "document": ("documents", "bin")}


def _folder(kind: str) -> tuple[str, str]:
    return _FOLDERS.get(kind, (kind + "s", "bin"))


async def send_message(state: EmulatorState, req: Request) -> Any:
    params = req.params
    chat = chat_for(state, params)
    text, entities = formatted(state, params)
    keyboard = markup(params, chat)
    replied = reply_to(chat, params)
    kept = ("link_preview_options", "disable_notification", "message_thread_id")
    msg = state.chats.store_message(
        chat,
        state.bot.as_user(),
        text,
        entities,
        reply_markup=keyboard,
        reply_to=replied,
        extra={k: params[k] for k in kept if k in params} | topic(chat, params),
    )
    return state.chats.message_json(chat, msg)


def media_sender(kind: str) -> Handler:
    """sendPhoto, sendDocument, sendVoice, sendAudio, sendSticker: one shape, one file
    field each."""
    folder, ext = _folder(kind)

    async def send(state: EmulatorState, req: Request) -> Any:
        params = req.params
        chat = chat_for(state, params)
        files = req.files
        fetched = await fetch_url_file(params, kind)
        if fetched is not None:
            files = {**files, kind: fetched}
        stored = input_file(state, params, files, kind, folder, ext)
        caption, entities = formatted(
            state, params, "caption", "caption_entities", limit=1024, required=False
        )
        keyboard = markup(params, chat)
        replied = reply_to(chat, params)
        msg = state.chats.store_message(
            chat,
            state.bot.as_user(),
            caption,
            entities,
            kind=kind,
            media=media_object(kind, stored),
            reply_markup=keyboard,
            reply_to=replied,
            extra=topic(chat, params),
        )
        return state.chats.message_json(chat, msg)

    return send


def _apply_edit(
    state: EmulatorState,
    chat: ChatState,
    msg: EmuMessage,
    text: str,
    entities: list[Entity],
    keyboard: dict[str, Any] | None,
) -> Any:
    """Telegram refuses an edit that changes nothing (entity order does not count)."""
    same_entities = sort_entities(entities) == sort_entities(msg.entities)
    same = text == msg.text and same_entities and keyboard == msg.reply_markup
    if same and msg.kind != "rich":
        raise bad_request(_NOT_MODIFIED)
    msg.edits.append(msg.text)
    if msg.kind == "rich":  # a rich message edited to plain text
        msg.kind, msg.rich_message, msg.rich_blocks, msg.rich_source = "text", None, None, None
    msg.text, msg.entities, msg.reply_markup = text, entities, keyboard
    msg.edit_date = unix_now()
    return state.chats.message_json(chat, msg)


async def edit_message_text(state: EmulatorState, req: Request) -> Any:
    if req.params.get("inline_message_id"):
        return edit_inline_text(state, req)
    chat, msg = editable_message(state, req.params)
    if req.params.get("rich_message") is not None and state.behaviour.rich_messages:
        return edit_rich(state, chat, msg, req)  # an old server ignores rich_message
    if msg.kind not in ("text", "rich"):
        raise bad_request("there is no text in the message to edit")
    text, entities = formatted(state, req.params)
    return _apply_edit(state, chat, msg, text, entities, markup(req.params, None))


async def edit_message_caption(state: EmulatorState, req: Request) -> Any:
    chat, msg = editable_message(state, req.params)
    if msg.kind == "text":
        raise bad_request("there is no caption in the message to edit")
    text, entities = formatted(
        state, req.params, "caption", "caption_entities", limit=1024, required=False
    )
    return _apply_edit(state, chat, msg, text, entities, markup(req.params, None))


async def edit_message_media(state: EmulatorState, req: Request) -> Any:
    chat, msg = editable_message(state, req.params)
    if msg.kind == "text":
        raise bad_request("there is no media in the message to edit")
    media = req.params.get("media")
    kinds = ("photo", "document", "video", "animation", "audio")
    if not isinstance(media, dict) or media.get("type") not in kinds:
        raise bad_request("can't parse InputMedia: media type is not specified or invalid")
    kind = str(media["type"])
    stored = input_file(state, media, req.files, "media", *_folder(kind))
    caption, entities = formatted(
        state, media, "caption", "caption_entities", limit=1024, required=False
    )
    keyboard = markup(req.params, None)
    old = (first_file_id(msg.media), msg.text, msg.entities, msg.reply_markup)
    if (stored.file_id, caption, entities, keyboard) == old:
        raise bad_request(_NOT_MODIFIED)
    msg.edits.append(msg.text)
    msg.kind, msg.media = kind, media_object(kind, stored)
    msg.text, msg.entities, msg.reply_markup = caption, entities, keyboard
    msg.edit_date = unix_now()
    return state.chats.message_json(chat, msg)


async def edit_message_reply_markup(state: EmulatorState, req: Request) -> Any:
    if req.params.get("inline_message_id"):
        return edit_inline_markup(state, req)
    chat, msg = editable_message(state, req.params)
    keyboard = markup(req.params, None)
    if keyboard == msg.reply_markup:
        raise bad_request(_NOT_MODIFIED)
    msg.reply_markup = keyboard
    msg.edit_date = unix_now()
    return state.chats.message_json(chat, msg)


async def delete_message(state: EmulatorState, req: Request) -> Any:
    _chat, msg = target_message(state, req.params, "message to delete not found")
    msg.deleted = True
    return True


async def delete_messages(state: EmulatorState, req: Request) -> Any:
    chat = chat_for(state, req.params)
    ids = req.params.get("message_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise bad_request("message_ids must be a non-empty Array of at most 100 items")
    for mid in ids:
        msg = chat.messages_by_id.get(mid) if isinstance(mid, int) else None
        if msg is not None:
            msg.deleted = True
    return True


HANDLERS: dict[str, Handler] = {
    "sendMessage": send_message,
    "sendPhoto": media_sender("photo"),
    "sendDocument": media_sender("document"),
    "sendVoice": media_sender("voice"),
    "sendAudio": media_sender("audio"),
    "sendSticker": media_sender("sticker"),
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageMedia": edit_message_media,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "deleteMessages": delete_messages,
}
