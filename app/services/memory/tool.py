"""The ``remember`` tool: the model keeps a lasting fact the user stated. Offered only where
the user's memory may be used and they (and MEMORY_AUTO) allow it; every fact kept is
shown to the user with an undo button (MemorySink)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from app.services.memory.service import MemoryService, Remembered
from app.storage.errors import StorageUnavailable
from app.storage.facts import Fact
from llmdoor import Tool

log = logging.getLogger(__name__)

NAME = "remember"
DESCRIPTION = (
    "Keep a short, lasting fact about the user for future conversations, when the user "
    "states one: their name, preferences, circumstances, ongoing projects. Not for "
    "passing details of this conversation, and never for secrets (passwords, keys, "
    "card numbers). The user sees every fact you keep and can undo it."
)
PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "fact": {
            "type": "string",
            "description": "The fact in one short sentence, e.g. 'The user is vegetarian.'",
        }
    },
    "required": ["fact"],
}


@runtime_checkable
class MemorySink(Protocol):
    """An AnswerSink that shows the facts the model kept, and that an answer is incognito
    (optional for AnswerSinks)."""

    async def remembered(self, facts: Sequence[Fact]) -> None: ...

    def incognito(self) -> None: ...


def remember_tool(memory: MemoryService, user_id: int, kept: list[Fact]) -> Tool:
    """The tool for one answer to ``user_id``; the facts it stores are appended to ``kept``."""

    async def run(arguments: dict[str, Any]) -> str:
        fact = arguments.get("fact")
        if not isinstance(fact, str):
            return "Nothing kept: 'fact' must be a string."
        try:
            result = await memory.remember(user_id, fact, source="model")
        except StorageUnavailable:
            return "Memory is unavailable right now; nothing was kept."
        if result.status is Remembered.STORED and result.fact is not None:
            kept.append(result.fact)
            return "Kept. The user is shown it with an undo button."
        if result.status is Remembered.ALREADY:
            return "Already kept."
        if result.status is Remembered.FULL:
            return "Memory is full; nothing was kept. Do not try again."
        return "Nothing kept: the fact was empty."

    return Tool(
        name=NAME,
        description=DESCRIPTION,
        parameters=PARAMETERS,
        run=run,
        tags=frozenset({"memory"}),
    )
