"""Answers to callback queries (button presses) and inline queries."""

from __future__ import annotations

from typing import Any

from ..models import CallbackAnswer, InlineAnswer
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


async def answer_inline_query(state: EmulatorState, req: Request) -> Any:
    queries, params = state.queries, req.params
    qid = str(params.get("inline_query_id") or "")
    if qid not in queries.issued or qid in queries.inline_answers:
        raise bad_request(_EXPIRED)
    results = params.get("results")
    if not isinstance(results, list) or len(results) > 50:
        raise bad_request("RESULTS_TOO_MUCH" if isinstance(results, list) else "results is empty")
    queries.inline_answers[qid] = InlineAnswer(qid, results, dict(params))
    return True


HANDLERS: dict[str, Handler] = {
    "answerCallbackQuery": answer_callback_query,
    "answerInlineQuery": answer_inline_query,
}
