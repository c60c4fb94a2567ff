"""Users' personas (``personas``) and chats' default personas (``chat_settings``)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from app.storage.models import Persona, utc_ms
from app.storage.mongo.documents import PersonaDoc
from app.storage.mongo.repos import to_oid

Raw = dict[str, Any]


def _persona(raw: Raw) -> Persona:
    data = {k: v for k, v in raw.items() if k != "_id"}
    return Persona(id=str(raw["_id"]), **data)


class MongoPersonaRepository:
    CHAT_SETTINGS = "chat_settings"

    def __init__(self, database: Any) -> None:
        self._col: AsyncCollection[Raw] = PersonaDoc.get_pymongo_collection()
        # {_id: chat id, persona: ref}: keyed by the chat, so it needs no index of its own.
        self._chats: AsyncCollection[Raw] = database[self.CHAT_SETTINGS]

    async def create(self, owner_id: int, name: str, prompt: str) -> Persona:
        doc = PersonaDoc(owner_id=owner_id, name=name, prompt=prompt, created_at=utc_ms())
        raw = doc.model_dump(exclude={"id", "revision_id"})
        result = await self._col.insert_one(raw)
        return _persona(raw | {"_id": result.inserted_id})

    async def get(self, persona_id: str) -> Persona | None:
        oid = to_oid(persona_id)
        raw = await self._col.find_one({"_id": oid}) if oid else None
        return _persona(raw) if raw else None

    async def list_for(self, owner_id: int) -> list[Persona]:
        cursor = self._col.find({"owner_id": owner_id}).sort("_id", ASCENDING)
        return [_persona(raw) async for raw in cursor]

    async def count_for(self, owner_id: int) -> int:
        return await self._col.count_documents({"owner_id": owner_id})

    async def update(
        self, persona_id: str, owner_id: int, *, name: str | None = None, prompt: str | None = None
    ) -> Persona | None:
        oid = to_oid(persona_id)
        fields = {k: v for k, v in (("name", name), ("prompt", prompt)) if v is not None}
        if oid is None:
            return None
        if not fields:
            raw = await self._col.find_one({"_id": oid, "owner_id": owner_id})
        else:
            raw = await self._col.find_one_and_update(
                {"_id": oid, "owner_id": owner_id},
                {"$set": fields},
                return_document=ReturnDocument.AFTER,
            )
        return _persona(raw) if raw else None

    async def delete(self, persona_id: str, owner_id: int) -> bool:
        oid = to_oid(persona_id)
        if oid is None:
            return False
        return (await self._col.delete_one({"_id": oid, "owner_id": owner_id})).deleted_count == 1

    async def delete_all_of(self, owner_id: int) -> int:
        return (await self._col.delete_many({"owner_id": owner_id})).deleted_count

    async def set_chat_default(self, chat_id: int, persona: str | None) -> None:
        await self._chats.update_one({"_id": chat_id}, {"$set": {"persona": persona}}, upsert=True)

    async def chat_default(self, chat_id: int) -> str | None:
        raw = await self._chats.find_one({"_id": chat_id})
        value = raw.get("persona") if raw else None
        return str(value) if value else None
