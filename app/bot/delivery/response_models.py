"""Keep aiogram's parametrized response models alive between Bot API calls.

aiogram reads every answer with ``Response[method.__returning__]``. Pydantic caches
parametrized models only weakly, and nothing else holds them, so the garbage collector
drops them and the next call builds the model again: schema generation of 1-5 ms per
call. Under load that was about 7 % of the event loop's busy time in a py-spy profile of
the 200-user bench. Holding each model once it was used keeps pydantic's cache warm.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

#: One entry per return type the bot has met (a few dozen at most): never pruned. Keyed by
#: spelling, since ``Union[Message, bool]`` equals ``Message | bool`` but pydantic caches
#: them apart.
_KEPT: dict[str, type[Response[Any]]] = {}


def keep_response_model(returning: Any) -> None:
    key = repr(returning)
    if key not in _KEPT:
        _KEPT[key] = Response[returning]


class KeepResponseModels(BaseRequestMiddleware):
    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        keep_response_model(method.__returning__)
        return await make_request(bot, method)


def install_response_models(bot: Bot) -> None:
    if not any(isinstance(m, KeepResponseModels) for m in bot.session.middleware):
        bot.session.middleware(KeepResponseModels())


__all__ = ["KeepResponseModels", "install_response_models", "keep_response_model"]
