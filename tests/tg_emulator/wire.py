"""Bot API wire format: constants, the error type, request decoding helpers.

Shared by the HTTP front, the method table and the webhook pusher."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiogram.methods
from aiohttp import web

# Every Bot API method aiogram knows: unknown names get 404 like Telegram, known but
# unemulated ones returning bool are accepted generically and listed in `generic_calls`.
AIOGRAM_METHODS: dict[str, Any] = {
    str(getattr(cls, "__api_method__", "")).lower(): cls
    for cls in vars(aiogram.methods).values()
    if isinstance(cls, type) and isinstance(getattr(cls, "__api_method__", None), str)
}

# Form fields that are strings in the Bot API and must never be JSON-decoded
# (aiogram sends str values raw and JSON-encodes everything else).
STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "query",
        "data",
        "callback_query_id",
        "inline_query_id",
        "url",
        "secret_token",
        "parse_mode",
        "language_code",
        "action",
        "description",
        "short_description",
        "name",
        "title",
        "emoji",
        "file_id",
        "ip_address",
        "next_offset",
        "business_connection_id",
        "message_effect_id",
        "inline_message_id",
        "guest_query_id",
        "sticker",
        "photo",
        "document",
        "voice",
        "audio",
        "video",
        "animation",
    }
)

MESSAGE_OPS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendvoice",
        "sendaudio",
        "sendvideo",
        "sendanimation",
        "sendsticker",
        "sendrichmessage",
        "editmessagetext",
        "editmessagereplymarkup",
        "editmessagecaption",
        "copymessage",
        "forwardmessage",
        "answerguestquery",
    }
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
DEFAULT_ALLOWED = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
        "stopped_message_generation",
        "guest_message",
    }
)
# Methods an old server (before Bot API 10.1) does not know: 404 when rich messages are off.
RICH_METHODS = frozenset({"sendrichmessage", "sendrichmessagedraft"})
BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "web_app",
    "copy_text",
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
DRAFT_PEER_INVALID = "Bad Request: TEXTDRAFT_PEER_INVALID"
RICH_PARSE_FAILED = "Bad Request: can't parse rich message"  # fail_next_rich's default


class ApiError(Exception):
    """An error answer in Telegram's envelope."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class UploadedFile:
    filename: str | None
    data: bytes
    content_type: str | None


def first_file_id(media: Any) -> str | None:
    if isinstance(media, list):
        media = media[-1] if media else None
    return media.get("file_id") if isinstance(media, dict) else None


def update_type(update: dict[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "")


def int_param(params: dict[str, Any], key: str, default: int) -> int:
    """An integer parameter; junk is the client's error (400), never an emulator crash."""
    value = params.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise bad_request(f"wrong parameter {key} in request")
    try:
        return int(value)
    except ValueError:
        raise bad_request(f"wrong parameter {key} in request") from None


def scope_key(scope: Any) -> str:
    if not isinstance(scope, dict):
        scope = {"type": "default"}
    return json.dumps({k: v for k, v in scope.items() if v is not None}, sort_keys=True)


def default_description(code: int | None, retry_after: int | None) -> str:
    return {
        None: "",
        400: "Bad Request: injected failure",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: "Conflict: terminated by other getUpdates request",
        429: f"Too Many Requests: retry after {retry_after}",
        500: "Internal Server Error",
        502: "Bad Gateway",
    }.get(code, f"Error {code}")


def error_response(code: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": code, "description": description}, status=code
    )


def _coerce(key: str, value: str) -> Any:
    """Decode one form/query value the way the Bot API reads it."""
    if key in STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. chat_id="@channel"


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    params: dict[str, Any] = {k: _coerce(k, v) for k, v in request.query.items()}
    files: dict[str, UploadedFile] = {}
    if request.method != "POST" or not request.can_read_body:
        return params, files
    if request.content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("JSON body must be an object")
        params.update(body)
        return params, files
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            files[key] = UploadedFile(value.filename, value.file.read(), value.content_type)
        else:
            params[key] = _coerce(key, str(value))
    return params, files
