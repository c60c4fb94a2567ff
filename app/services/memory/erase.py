"""/forgetme: everything the bot keeps of what a user said, erased. Usage records stay:
they are accounting (tokens, cost, model, time) and hold no message text."""

from __future__ import annotations

from dataclasses import dataclass

from app.storage import Storage


@dataclass(frozen=True)
class Erased:
    facts: int
    conversations: int
    personas: int


async def erase_user_data(storage: Storage, user_id: int) -> Erased:
    """Facts, conversations (every chat) and own personas of ``user_id``. Raises
    StorageUnavailable when the database is down (nothing is half-promised: the caller
    says it could not be done, and a second try finishes it)."""
    facts = await storage.facts.delete_all(user_id)
    conversations = await storage.conversations.delete_all_of_user(user_id)
    personas = await storage.personas.delete_all_of(user_id)
    return Erased(facts, conversations, personas)
