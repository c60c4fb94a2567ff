"""Telegram's flood control for every Bot API call: a 429 with retry_after is waited out and
the call repeated (bounded), so command replies, menus, admin cards and refusals are not lost.
The answer streamer has its own policy (skip a preview, retry the final message), so calls
made inside it are left to it."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType

log = logging.getLogger(__name__)

_caller_handles_flood: ContextVar[bool] = ContextVar("caller_handles_flood", default=False)


P = ParamSpec("P")
R = TypeVar("R")


def handles_own_flood_control(
    fn: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """Decorates a coroutine whose Bot API calls deal with TelegramRetryAfter themselves."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with caller_handles_flood_control():
            return await fn(*args, **kwargs)

    return wrapper


@contextmanager
def caller_handles_flood_control() -> Iterator[None]:
    """Calls made in this block get TelegramRetryAfter raised to them, not retried."""
    token = _caller_handles_flood.set(True)
    try:
        yield
    finally:
        _caller_handles_flood.reset(token)


class RetryAfterMiddleware(BaseRequestMiddleware):
    def __init__(self, max_retries: int = 3, max_wait: float = 60.0) -> None:
        self.max_retries = max_retries
        self.max_wait = max_wait  # a longer penalty is better reported than waited out

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        attempt = 0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if (
                    _caller_handles_flood.get()
                    or attempt >= self.max_retries
                    or exc.retry_after > self.max_wait
                ):
                    raise
                attempt += 1
                log.info(
                    "telegram: flood limit on %s, retrying in %s s",
                    type(method).__name__,
                    exc.retry_after,
                )
                await asyncio.sleep(exc.retry_after)


def install_flood_control(bot: Bot) -> None:
    if not any(isinstance(m, RetryAfterMiddleware) for m in bot.session.middleware):
        bot.session.middleware(RetryAfterMiddleware())
