"""The storage contract for personal memory: short facts a user asked the bot to keep
(``/remember``, or the model's ``remember`` tool with the user's consent), put into the
context of that user's conversations. Capped per user by the caller (``add`` refuses past
``max_facts``); each fact's ``used`` counts the answers it went into, so the context keeps
the newest and most used first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from app.storage.models import utc_ms

FactSource = Literal["user", "model"]


class Fact(BaseModel):
    id: str
    user_id: int
    text: str
    source: FactSource = "user"
    used: int = 0
    created_at: datetime = Field(default_factory=utc_ms)


@runtime_checkable
class FactRepository(Protocol):
    async def add(
        self, user_id: int, text: str, *, source: FactSource, max_facts: int
    ) -> Fact | None:
        """Store a fact; None when the user already has ``max_facts``. The same text
        twice is stored once (the existing fact is returned)."""
        ...

    async def list_for(self, user_id: int, *, offset: int = 0, limit: int = 100) -> list[Fact]:
        """Newest first."""
        ...

    async def count_for(self, user_id: int) -> int: ...

    async def delete(self, user_id: int, fact_id: str) -> bool: ...

    async def delete_all(self, user_id: int) -> int: ...

    async def mark_used(self, user_id: int, fact_ids: Sequence[str]) -> None:
        """The facts went into an answer's context."""
        ...


def context_order(facts: Sequence[Fact]) -> list[Fact]:
    """What goes into the context first when not all fit: the most used, then the newest."""
    return sorted(facts, key=lambda f: (f.used, f.created_at), reverse=True)
