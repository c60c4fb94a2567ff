"""Users' personas and chats' default personas, in dicts."""

from __future__ import annotations

from bson import ObjectId

from app.storage.models import Persona, utc_ms


class MemoryPersonaRepository:
    def __init__(self) -> None:
        self._personas: dict[str, Persona] = {}  # insertion order == creation order
        self._chat_defaults: dict[int, str] = {}

    async def create(self, owner_id: int, name: str, prompt: str) -> Persona:
        persona = Persona(
            id=str(ObjectId()), owner_id=owner_id, name=name, prompt=prompt, created_at=utc_ms()
        )
        self._personas[persona.id] = persona
        return persona.model_copy()

    async def get(self, persona_id: str) -> Persona | None:
        persona = self._personas.get(persona_id)
        return persona.model_copy() if persona else None

    async def list_for(self, owner_id: int) -> list[Persona]:
        return [p.model_copy() for p in self._personas.values() if p.owner_id == owner_id]

    async def count_for(self, owner_id: int) -> int:
        return sum(1 for p in self._personas.values() if p.owner_id == owner_id)

    async def update(
        self, persona_id: str, owner_id: int, *, name: str | None = None, prompt: str | None = None
    ) -> Persona | None:
        persona = self._personas.get(persona_id)
        if persona is None or persona.owner_id != owner_id:
            return None
        if name is not None:
            persona.name = name
        if prompt is not None:
            persona.prompt = prompt
        return persona.model_copy()

    async def delete(self, persona_id: str, owner_id: int) -> bool:
        persona = self._personas.get(persona_id)
        if persona is None or persona.owner_id != owner_id:
            return False
        del self._personas[persona_id]
        return True

    async def delete_all_of(self, owner_id: int) -> int:
        mine = [k for k, p in self._personas.items() if p.owner_id == owner_id]
        for key in mine:
            del self._personas[key]
        return len(mine)

    async def set_chat_default(self, chat_id: int, persona: str | None) -> None:
        if persona is None:
            self._chat_defaults.pop(chat_id, None)
        else:
            self._chat_defaults[chat_id] = persona

    async def chat_default(self, chat_id: int) -> str | None:
        return self._chat_defaults.get(chat_id)
