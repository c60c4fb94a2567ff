"""A recording aiogram session: the real ``Bot`` runs, nothing leaves the process.

``make_request`` records ``(api_method, params)`` and returns a plausible result, or the next
scripted outcome for that method: an exception instance (aiogram's real ``TelegramRetryAfter``,
``TelegramBadRequest``...) is raised, a callable is called with the method, anything else is
returned as is.
"""

from __future__ import annotations

import datetime
from collections import defaultdict, deque
from collections.abc import AsyncGenerator, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, Message

Outcome = BaseException | Callable[[TelegramMethod[Any]], Any] | Any


class FakeSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._script: dict[str, deque[Outcome]] = defaultdict(deque)
        self._next_message_id = 100

    # -- scripting ---------------------------------------------------------------------

    def script(self, api_method: str, *outcomes: Outcome) -> None:
        """Queue outcomes for the next calls of ``api_method`` (e.g. "sendMessage")."""
        self._script[api_method].extend(outcomes)

    def methods(self) -> list[str]:
        return [name for name, _ in self.calls]

    def params(self, api_method: str) -> list[dict[str, Any]]:
        return [p for name, p in self.calls if name == api_method]

    # -- BaseSession ---------------------------------------------------------------------

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (BaseSession's signature)
    ) -> TelegramType:
        name = method.__api_method__
        params = method.model_dump(exclude_none=True)
        self.calls.append((name, params))
        queue = self._script.get(name)
        if queue:
            outcome = queue.popleft()
            if isinstance(outcome, BaseException):
                raise outcome
            if callable(outcome):
                return outcome(method)  # type: ignore[no-any-return]
            return outcome  # type: ignore[no-any-return]
        return self._default(method)  # type: ignore[no-any-return]

    def _default(self, method: TelegramMethod[Any]) -> Any:
        name = method.__api_method__
        if name in ("sendMessage", "editMessageText"):
            if name == "sendMessage":
                self._next_message_id += 1
                message_id = self._next_message_id
            else:
                message_id = method.message_id  # type: ignore[attr-defined]
            return Message(
                message_id=message_id,
                date=datetime.datetime.now(datetime.UTC),
                chat=Chat(id=method.chat_id, type="private"),  # type: ignore[attr-defined]
                text=method.text,  # type: ignore[attr-defined]
                entities=method.entities,  # type: ignore[attr-defined]
            )
        return True

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 (BaseSession's signature)
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:  # pragma: no cover - not used by these tests
        raise NotImplementedError
        yield b""


# -- real aiogram exceptions, built the way aiogram's session builds them ---------------------


def _method(name: str) -> TelegramMethod[Any]:
    from aiogram.methods import EditMessageText, SendMessage, SendMessageDraft

    cls = {"sendMessage": SendMessage, "editMessageText": EditMessageText}.get(
        name, SendMessageDraft
    )
    if cls is SendMessageDraft:
        return SendMessageDraft(chat_id=1, draft_id=1, text="x")
    if cls is EditMessageText:
        return EditMessageText(chat_id=1, message_id=1, text="x")
    return SendMessage(chat_id=1, text="x")


def retry_after(seconds: int, api_method: str = "sendMessage") -> TelegramRetryAfter:
    return TelegramRetryAfter(
        method=_method(api_method),
        message=f"Too Many Requests: retry after {seconds}",
        retry_after=seconds,
    )


def bad_request(message: str, api_method: str = "sendMessage") -> TelegramBadRequest:
    return TelegramBadRequest(method=_method(api_method), message=f"Bad Request: {message}")


NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
CANT_PARSE = "can't parse entities: Can't find end of the entity starting at byte offset 7"
