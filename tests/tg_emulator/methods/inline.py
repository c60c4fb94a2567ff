"""Inline mode and guest mode: answers to inline queries, answers to guest queries, and
edits of the messages they posted (by ``inline_message_id``).

Validated like Telegram: at most 50 results, result ids of 1-64 bytes and unique, a known
result type, a text result with its message text (parse_mode/entities as in sendMessage),
a results button with one of start_parameter (1-64 of A-Za-z0-9_-) or web_app."""

from __future__ import annotations

import re
from typing import Any

from ..chats import unix_now
from ..formatting import sort_entities
from ..models import InlineAnswer, InlineMessage
from ..state import EmulatorState
from ..wire import NOT_MODIFIED, bad_request, int_param
from .common import formatted, markup
from .table import Handler, Request

_EXPIRED = "query is too old and response timeout expired or query ID is invalid"
_NOT_MODIFIED = NOT_MODIFIED.removeprefix("Bad Request: ")
_START_PARAM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
RESULT_TYPES = frozenset(
    {
        "article",
        "photo",
        "gif",
        "mpeg4_gif",
        "video",
        "audio",
        "voice",
        "document",
        "location",
        "venue",
        "contact",
        "game",
        "sticker",
    }
)


def check_result(state: EmulatorState, result: Any) -> None:
    """One InlineQueryResult as Telegram checks it (the article kind fully)."""
    if not isinstance(result, dict) or result.get("type") not in RESULT_TYPES:
        raise bad_request("RESULT_TYPE_INVALID")
    rid = result.get("id")
    if not isinstance(rid, str) or not 1 <= len(rid.encode()) <= 64:
        raise bad_request("RESULT_ID_INVALID")
    if result["type"] == "article":
        if not str(result.get("title") or "").strip():
            raise bad_request("RESULT_TITLE_EMPTY")
        if not isinstance(result.get("input_message_content"), dict):
            raise bad_request("input_message_content is required for an article")
    content = result.get("input_message_content")
    if isinstance(content, dict) and "message_text" in content:
        formatted(state, content, "message_text", "entities")
    markup(result, None)


def posted_text(state: EmulatorState, result: dict[str, Any]) -> tuple[str, list[Any]]:
    """The text a client posts for a text result."""
    content = result.get("input_message_content") or {}
    if "message_text" not in content:
        raise bad_request("only text results are emulated")
    return formatted(state, content, "message_text", "entities")


def _check_button(button: Any) -> None:
    if button is None:
        return
    if not isinstance(button, dict) or not str(button.get("text") or "").strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    start, web_app = button.get("start_parameter"), button.get("web_app")
    if (start is None) == (web_app is None):
        raise bad_request("exactly one of start_parameter and web_app must be given")
    if start is not None and not _START_PARAM.match(str(start)):
        raise bad_request("START_PARAM_INVALID")


async def answer_inline_query(state: EmulatorState, req: Request) -> Any:
    queries, params = state.queries, req.params
    qid = str(params.get("inline_query_id") or "")
    if qid not in queries.issued or qid in queries.inline_answers:
        raise bad_request(_EXPIRED)
    results = params.get("results")
    if not isinstance(results, list):
        raise bad_request("results is empty")
    if len(results) > 50:
        raise bad_request("RESULTS_TOO_MUCH")
    for result in results:
        check_result(state, result)
    ids = [r["id"] for r in results]
    if len(set(ids)) != len(ids):
        raise bad_request("RESULT_ID_DUPLICATE")
    if int_param(params, "cache_time", 300) < 0:
        raise bad_request("CACHE_TIME_INVALID")
    _check_button(params.get("button"))
    queries.inline_answers[qid] = InlineAnswer(qid, results, dict(params))
    return True


async def answer_guest_query(state: EmulatorState, req: Request) -> Any:
    params = req.params
    qid = str(params.get("guest_query_id") or "")
    query = state.queries.guest_queries.get(qid)
    if query is None or query.answer is not None:
        raise bad_request(_EXPIRED)
    result = params.get("result")
    check_result(state, result)
    text, entities = posted_text(state, result)
    query.answer = state.inline.post(
        text,
        entities,
        reply_markup=markup(result, None),
        chat_id=query.chat_id,
        sender_id=query.user_id,
        result_id=result["id"],
        guest_query_id=qid,
    )
    return {"inline_message_id": query.answer.inline_message_id}


def inline_message(state: EmulatorState, params: dict[str, Any]) -> InlineMessage:
    if params.get("chat_id") is not None or params.get("message_id") is not None:
        raise bad_request("chat_id and message_id must be empty with inline_message_id")
    message = state.inline.by_id.get(str(params.get("inline_message_id")))
    if message is None:
        raise bad_request("MESSAGE_ID_INVALID")
    return message


def _edited(message: InlineMessage) -> None:
    message.edits.append(message.text)
    message.edit_times.append(unix_now())


def edit_inline_text(state: EmulatorState, req: Request) -> Any:
    """editMessageText of an inline message: True on success, as Telegram returns."""
    message = inline_message(state, req.params)
    if req.params.get("rich_message") is not None:
        raise bad_request("rich messages are not emulated for inline messages")
    text, entities = formatted(state, req.params)
    keyboard = markup(req.params, None)
    same = (
        text == message.text
        and sort_entities(entities) == sort_entities(message.entities)
        and keyboard == message.reply_markup
    )
    if same:
        raise bad_request(_NOT_MODIFIED)
    _edited(message)
    message.text, message.entities, message.reply_markup = text, entities, keyboard
    return True


def edit_inline_markup(state: EmulatorState, req: Request) -> Any:
    message = inline_message(state, req.params)
    keyboard = markup(req.params, None)
    if keyboard == message.reply_markup:
        raise bad_request(_NOT_MODIFIED)
    message.reply_markup = keyboard
    return True


HANDLERS: dict[str, Handler] = {
    "answerInlineQuery": answer_inline_query,
    "answerGuestQuery": answer_guest_query,
}
