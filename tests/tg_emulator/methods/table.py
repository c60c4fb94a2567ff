"""The method table: Bot API method name -> one small async handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..state import EmulatorState
from ..wire import UploadedFile


@dataclass
class Request:
    """One decoded call: parameters (JSON-decoded like the Bot API) and uploaded files."""

    params: dict[str, Any]
    files: dict[str, UploadedFile]


# A handler returns the JSON "result" or raises wire.ApiError with Telegram's wording.
Handler = Callable[[EmulatorState, Request], Awaitable[Any]]


class MethodTable:
    """Handlers by method name; names are case-insensitive, like Telegram's."""

    def __init__(self, *groups: Mapping[str, Handler]) -> None:
        self._handlers: dict[str, Handler] = {}
        for group in groups:
            for name, handler in group.items():
                self.register(name, handler)

    def register(self, method: str, handler: Handler) -> None:
        """Add or replace a handler (a test may swap one in to break a method)."""
        self._handlers[method.lower()] = handler

    def get(self, method: str) -> Handler | None:
        return self._handlers.get(method.lower())

    def __contains__(self, method: object) -> bool:
        return isinstance(method, str) and method.lower() in self._handlers

    def names(self) -> Iterable[str]:
        return self._handlers.keys()
