"""Answers to callback queries (button presses); inline queries: ``inline``."""

from __future__ import annotations

from typing import Any

from ..models import CallbackAnswer
from ..state import EmulatorState
from ..wire import bad_request
from .table import Handler, Request

_EXPIRED = "query is too old and response timeout expired or query ID is invalid"


async def answer_callback_query(state: EmulatorState, req: Request) -> Any:
    queries, params = state.queries, req.params
    qid = str(params.get("callback_query_id") or "")
    if qid not in queries.issued or qid in queries.callback_answers:
        raise bad_request(_EXPIRED)
    text = params.get("text")
    if text is not None and len(str(text)) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    queries.callback_answers[qid] = CallbackAnswer(
        qid,
        text=text,
        show_alert=bool(params.get("show_alert")),
        url=params.get("url"),
        cache_time=params.get("cache_time"),
    )
    return True


HANDLERS: dict[str, Handler] = {
    "answerCallbackQuery": answer_callback_query,
}
