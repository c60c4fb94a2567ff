"""Checks every message method shares: the chat, formatted text, keyboards, replies, files."""

from __future__ import annotations

from typing import Any

from ..chats import ChatState
from ..formatting import (
    Entity,
    ParseError,
    parse_html,
    parse_markdown_legacy,
    parse_markdown_v2,
    trim,
    utf16_len,
    validate_entities,
)
from ..models import EmuMessage, StoredFile
from ..state import EmulatorState
from ..wire import BUTTON_ACTIONS, ApiError, UploadedFile, bad_request


def chat_for(state: EmulatorState, params: dict[str, Any]) -> ChatState:
    """The chat ``chat_id`` names; 403 if the user blocked the bot."""
    chat_id = params.get("chat_id")
    if chat_id is None or chat_id == "":
        raise bad_request("chat_id is empty")
    chat = state.chats.find(chat_id) if isinstance(chat_id, int | str) else None
    if chat is None:
        raise bad_request("chat not found")
    if chat.blocked and not isinstance(chat_id, str):
        raise ApiError(403, "Forbidden: bot was blocked by the user")
    return chat


def formatted(
    state: EmulatorState,
    params: dict[str, Any],
    text_key: str = "text",
    entities_key: str = "entities",
    *,
    limit: int = 4096,
    required: bool = True,
) -> tuple[str, list[Entity]]:
    """The text as a client shows it, after parse_mode or the entities array."""
    raw = params.get(text_key)
    text = "" if raw is None else str(raw)
    parse_mode = params.get("parse_mode")
    try:
        if parse_mode:
            mode = str(parse_mode).lower()
            if mode == "html":
                text, entities = parse_html(text, strict_ampersand=state.behaviour.strict_html)
            elif mode == "markdownv2":
                text, entities = parse_markdown_v2(text)
            elif mode == "markdown":
                text, entities = parse_markdown_legacy(text)
            else:
                raise bad_request("unsupported parse_mode")
        elif params.get(entities_key) is not None:
            entities = validate_entities(text, params[entities_key])
        else:
            entities = []
    except ParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None
    text, entities = trim(text, entities)
    if required and not text:
        raise bad_request("message text is empty")
    if utf16_len(text) > limit:
        too_long = "message caption is too long" if text_key == "caption" else "message is too long"
        raise bad_request(too_long)
    return text, entities


def markup(params: dict[str, Any], chat: ChatState | None) -> dict[str, Any] | None:
    """Validate reply_markup; return the inline keyboard to store on the message.

    A reply keyboard (or its removal) is kept on ``chat`` when one is given.
    """
    value = params.get("reply_markup")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in value:
        if chat is not None:
            chat.reply_keyboard = value
        return None
    rows = value["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardMarkup must be an Array"
        )
    for row in rows:
        for button in row:
            _check_button(button)
    clean = [[{k: v for k, v in b.items() if v is not None} for b in row] for row in rows]
    return {"inline_keyboard": clean}


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request("can't parse inline keyboard button: Text must be a String")
    if not any(button.get(a) is not None for a in BUTTON_ACTIONS):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data = button.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode()) <= 64:
        raise bad_request("BUTTON_DATA_INVALID")
    url = button.get("url")
    if url is not None and not str(url).startswith(("http://", "https://", "tg://")):
        raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def topic(chat: ChatState, params: dict[str, Any]) -> dict[str, Any]:
    """A message sent into a forum topic belongs to it (message_thread_id, is_topic_message)."""
    thread = params.get("message_thread_id")
    if not thread or not chat.chat.get("is_forum"):
        return {}
    return {"message_thread_id": thread, "is_topic_message": True}


def reply_to(chat: ChatState, params: dict[str, Any]) -> int | None:
    """The id of the message replied to (reply_parameters or the legacy field)."""
    rp = params.get("reply_parameters")
    mid = rp.get("message_id") if isinstance(rp, dict) else params.get("reply_to_message_id")
    if mid is None:
        return None
    msg = chat.messages_by_id.get(mid) if isinstance(mid, int) else None
    if msg is None or msg.deleted:
        allow = isinstance(rp, dict) and rp.get("allow_sending_without_reply")
        if allow or params.get("allow_sending_without_reply"):
            return None
        raise bad_request("message to be replied not found")
    return int(mid)


def target_message(
    state: EmulatorState, params: dict[str, Any], not_found: str
) -> tuple[ChatState, EmuMessage]:
    """The visible message ``chat_id`` + ``message_id`` name."""
    if params.get("inline_message_id"):
        raise bad_request("inline messages are not emulated")
    chat = chat_for(state, params)
    mid = params.get("message_id")
    if mid is None:
        raise bad_request("message identifier is not specified")
    msg = chat.messages_by_id.get(mid) if isinstance(mid, int) else None
    if msg is None or msg.deleted:
        raise bad_request(not_found)
    return chat, msg


def editable_message(state: EmulatorState, params: dict[str, Any]) -> tuple[ChatState, EmuMessage]:
    """The message an edit method targets: the bot can edit only its own messages."""
    chat, msg = target_message(state, params, "message to edit not found")
    if not msg.from_bot:
        raise bad_request("message can't be edited")
    return chat, msg


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_URL_FILE_LIMIT = 5 * 1024 * 1024  # Telegram fetches photos up to 5 MB by URL


async def fetch_url_file(params: dict[str, Any], field_name: str) -> UploadedFile | None:
    """Telegram fetches a file named by an HTTP URL itself. The emulator does the same for
    the test hosts on the loopback only (it has no internet); other URLs are refused later
    by ``input_file`` as Telegram refuses a URL it cannot fetch."""
    from urllib.parse import urlsplit

    import aiohttp

    value = params.get(field_name)
    if not isinstance(value, str) or not value.startswith("http://"):
        return None
    if urlsplit(value).hostname not in _LOOPBACK_HOSTS:
        return None
    timeout = aiohttp.ClientTimeout(total=5)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(value, allow_redirects=False) as response,
        ):
            if response.status != 200:
                return None
            data = await response.content.read(_URL_FILE_LIMIT + 1)
            kind = response.content_type
    except (aiohttp.ClientError, TimeoutError):
        return None
    if not data or len(data) > _URL_FILE_LIMIT:
        return None
    return UploadedFile(filename=value.rsplit("/", 1)[-1] or None, data=data, content_type=kind)


def input_file(
    state: EmulatorState,
    params: dict[str, Any],
    files: dict[str, UploadedFile],
    field_name: str,
    folder: str,
    ext: str,
) -> StoredFile:
    """The file a send method names: an upload, ``attach://name`` or a known file_id."""
    value = params.get(field_name)
    upload = files.get(field_name)
    if isinstance(value, str) and value.startswith("attach://"):
        upload = files.get(value.removeprefix("attach://"))
        if upload is None:
            raise bad_request(f'can\'t find attached file "{value}"')
    if upload is not None:
        if not upload.data:
            raise bad_request("file must be non-empty")
        if upload.filename and "." in upload.filename:
            ext = upload.filename.rsplit(".", 1)[1]
        return state.files.store(upload.data, folder, ext, upload.filename, upload.content_type)
    if not value:
        raise bad_request(f"there is no {field_name} in the request")
    stored = state.files.get(value) if isinstance(value, str) else None
    if stored is not None:
        return stored
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        raise bad_request("failed to get HTTP URL content")  # the emulator has no internet either
    raise bad_request("wrong file identifier/HTTP URL specified")
