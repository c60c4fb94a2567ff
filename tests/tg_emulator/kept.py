"""Attributes of the emulator that live on one of its parts."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Kept(Generic[T]):
    """An emulator attribute that lives on one of its parts, e.g. ``"state.bot.username"``."""

    def __init__(self, path: str) -> None:
        *self._parents, self._name = path.split(".")

    def _owner(self, emu: Any) -> Any:
        for name in self._parents:
            emu = getattr(emu, name)
        return emu

    def __get__(self, emu: Any, cls: Any = None) -> T:
        value: T = getattr(self._owner(emu), self._name)
        return value

    def __set__(self, emu: Any, value: T) -> None:
        setattr(self._owner(emu), self._name, value)
