"""Who reads a model error. Admins are told the model, the provider and the setting to
check (names, never values); everyone else gets one short sentence.

Set once per update by ErrorAudienceMiddleware, after the access gate, and read by
describe_llm_error wherever an error is rendered (the chat sink, the media handlers),
so the role need not travel down every answer path. asyncio tasks copy the context they
are created in: work an update starts sees the same reader."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from llmdoor import LLMSettings, Role


@dataclass(frozen=True)
class Audience:
    admin: bool = False
    llm: LLMSettings | None = None  # for the admin's hint: which variables apply


_NOBODY = Audience()
_AUDIENCE: ContextVar[Audience | None] = ContextVar("error_audience", default=None)


def current_audience() -> Audience:
    return _AUDIENCE.get() or _NOBODY


class ErrorAudienceMiddleware(BaseMiddleware):
    def __init__(self, llm: LLMSettings) -> None:
        self._admin = Audience(admin=True, llm=llm)
        self._other = Audience(admin=False, llm=llm)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        admin = data.get("role") is Role.ADMIN
        token = _AUDIENCE.set(self._admin if admin else self._other)
        try:
            return await handler(event, data)
        finally:
            _AUDIENCE.reset(token)
