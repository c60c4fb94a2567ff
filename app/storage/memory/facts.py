"""Personal memory in memory: a dict per user, insertion ordered."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from app.storage.facts import Fact, FactSource
from app.storage.models import utc_ms


class MemoryFactRepository:
    def __init__(self) -> None:
        self._facts: dict[int, dict[str, Fact]] = {}

    async def add(
        self, user_id: int, text: str, *, source: FactSource, max_facts: int
    ) -> Fact | None:
        mine = self._facts.setdefault(user_id, {})
        same = next((f for f in mine.values() if f.text == text), None)
        if same is not None:
            return same.model_copy()
        if len(mine) >= max_facts:
            return None
        fact = Fact(id=uuid.uuid4().hex, user_id=user_id, text=text, source=source)
        fact.created_at = utc_ms(fact.created_at)
        mine[fact.id] = fact
        return fact.model_copy()

    async def list_for(self, user_id: int, *, offset: int = 0, limit: int = 100) -> list[Fact]:
        newest = list(reversed(self._facts.get(user_id, {}).values()))
        return [f.model_copy() for f in newest[offset : offset + limit]]

    async def count_for(self, user_id: int) -> int:
        return len(self._facts.get(user_id, {}))

    async def delete(self, user_id: int, fact_id: str) -> bool:
        return self._facts.get(user_id, {}).pop(fact_id, None) is not None

    async def delete_all(self, user_id: int) -> int:
        return len(self._facts.pop(user_id, {}))

    async def mark_used(self, user_id: int, fact_ids: Sequence[str]) -> None:
        mine = self._facts.get(user_id, {})
        for fact_id in fact_ids:
            if fact_id in mine:
                mine[fact_id].used += 1
