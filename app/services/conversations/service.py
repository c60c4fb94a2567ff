"""ConversationService: which conversation a message belongs to, and everything ``/chats``
does with a user's conversations. Every operation takes the caller's key (user, chat,
thread) and touches only conversations of that key, so a forged or stale id from a button
reaches nothing of anyone else. Plain inputs and outcomes, no Telegram."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from app.services.conversations.personas import PersonaService
from app.services.plain_text import visible
from app.storage import Conversation, ConversationInfo, ConversationRepository, Storage
from app.storage.words import query_words

PAGE_SIZE = 6
MAX_TITLE_CHARS = 64
#: Search results shown at most (newest first); beyond it the count reads "30+".
SEARCH_LIMIT = 30


@dataclass(frozen=True)
class ConversationKey:
    user_id: int
    chat_id: int
    thread_id: int = 0  # the forum topic; 0 outside topics


@dataclass(frozen=True)
class Page:
    items: list[ConversationInfo]
    page: int  # 0-based, clamped to the pages there are
    pages: int
    total: int
    more: bool = False  # search only: there are matches beyond the ``total`` shown


@dataclass(frozen=True)
class NewConversation:
    conversation: Conversation
    # Pushed out by the per-user cap (archived, never deleted).
    archived: list[ConversationInfo] = field(default_factory=list)
    # True: the active conversation had no messages yet, so it is the new one (set up
    # afresh) rather than another empty conversation beside it.
    reused: bool = False


@dataclass(frozen=True)
class Continued:
    """A reply to a stored answer of this key: its conversation is the active one now."""

    conversation: Conversation
    forked: bool = False  # True: a copy up to that answer (the original went on past it)
    current: bool = False  # True: it was the active conversation already (nothing changed)
    index: int | None = None  # with ``current``: the answer's turn in the conversation


class ConversationService:
    def __init__(
        self,
        storage: Storage,
        personas: PersonaService,
        *,
        max_per_user: int = 100,
        default_model: str | None = None,
    ) -> None:
        self._storage = storage
        self._personas = personas
        self.max_per_user = max_per_user
        self._default_model = default_model  # the bot's (LLM_DEFAULT_MODEL)

    @property
    def _repo(self) -> ConversationRepository:
        return self._storage.conversations

    async def _new_persona(self, key: ConversationKey) -> str | None:
        # In groups the admins' default persona applies; private chats start as the assistant.
        return await self._personas.chat_default(key.chat_id) if key.chat_id < 0 else None

    def new_model(self, user_model: str | None) -> str | None:
        """The model a new conversation keeps: the user's default now, else the bot's.
        Stored at creation, so a later /model elsewhere never moves the conversation."""
        return user_model or self._default_model

    async def active(self, key: ConversationKey, user_model: str | None) -> Conversation:
        """The key's active conversation; a new one gets its own model (the user's default
        now) and persona, so later changes of the defaults don't move it."""
        conv, _archived = await self._active(key, user_model)
        return conv

    async def _active(
        self, key: ConversationKey, user_model: str | None
    ) -> tuple[Conversation, list[ConversationInfo]]:
        model = self.new_model(user_model)
        conv = await self._repo.active(
            key.user_id,
            key.chat_id,
            key.thread_id,
            model=model,
            persona=await self._new_persona(key),
        )
        if conv.turns:
            return conv, []
        if conv.model is None and model is not None:
            # Made without a model elsewhere (straight through the repository): it takes
            # one before its first message, so it never follows later defaults.
            await self._repo.set_model(conv.id, model)
            conv = conv.model_copy(update={"model": model})
        # A conversation without turns may have just been created: the per-user cap holds
        # for it too (archiving is a no-op while within the cap).
        return conv, await self._overflow(key)

    async def _overflow(self, key: ConversationKey) -> list[ConversationInfo]:
        return await self._repo.archive_overflow(key.user_id, self.max_per_user)

    async def start_new(self, key: ConversationKey, user_model: str | None) -> NewConversation:
        """A new active conversation; the old one is kept. An active conversation without
        messages is reused (set up as a new one), so repeated /new piles up nothing."""
        current, archived = await self._active(key, user_model)
        model, persona = self.new_model(user_model), await self._new_persona(key)
        if not current.turns:
            await self._repo.set_model(current.id, model)
            await self._repo.set_persona(current.id, persona)
            fresh = current.model_copy(update={"model": model, "persona": persona})
            return NewConversation(fresh, archived, reused=True)
        conv = await self._repo.start_new(
            key.user_id, key.chat_id, key.thread_id, model=model, persona=persona
        )
        return NewConversation(conv, archived + await self._overflow(key))

    async def open_aside(
        self, key: ConversationKey, user_model: str | None, title: str
    ) -> Conversation:
        """A conversation of the key beside the active one, with the model and persona a
        new one would get (a scheduled prompt's own)."""
        model, persona = self.new_model(user_model), await self._new_persona(key)
        return await self._repo.add_aside(
            key.user_id, key.chat_id, key.thread_id, model=model, persona=persona, title=title
        )

    async def start_incognito(self, key: ConversationKey, user_model: str | None) -> Conversation:
        """A new active conversation that is deleted when it ends (/incognito)."""
        model, persona = self.new_model(user_model), await self._new_persona(key)
        return await self._repo.start_new(
            key.user_id, key.chat_id, key.thread_id, model=model, persona=persona, incognito=True
        )

    # ---------------------------------------------------------------- /chats

    async def page(self, key: ConversationKey, page: int, *, archived: bool = False) -> Page:
        total = await self._repo.count(key.user_id, key.chat_id, key.thread_id, archived=archived)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(max(0, page), pages - 1)
        items = await self._repo.list_page(
            key.user_id,
            key.chat_id,
            key.thread_id,
            archived=archived,
            offset=page * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
        return Page(items, page, pages, total)

    async def count_archived(self, key: ConversationKey) -> int:
        return await self._repo.count(key.user_id, key.chat_id, key.thread_id, archived=True)

    async def search(
        self, key: ConversationKey, text: str, limit: int = SEARCH_LIMIT
    ) -> list[ConversationInfo]:
        words = query_words(text)
        if not words:
            return []
        return await self._repo.search(key.user_id, key.chat_id, key.thread_id, words, limit=limit)

    async def search_page(self, key: ConversationKey, text: str, page: int) -> Page:
        """One page of the newest ``SEARCH_LIMIT`` matches; ``more`` when there are others."""
        found = await self.search(key, text, limit=SEARCH_LIMIT + 1)
        more, found = len(found) > SEARCH_LIMIT, found[:SEARCH_LIMIT]
        pages = max(1, math.ceil(len(found) / PAGE_SIZE))
        page = min(max(0, page), pages - 1)
        items = found[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        return Page(items, page, pages, len(found), more=more)

    async def owned(self, key: ConversationKey, conversation_id: str) -> Conversation | None:
        """The conversation when it belongs to this key, else None (forged, stale, deleted)."""
        conv = await self._repo.get(conversation_id)
        if conv is None or (conv.user_id, conv.chat_id, conv.thread_id) != (
            key.user_id,
            key.chat_id,
            key.thread_id,
        ):
            return None
        return conv

    async def open(self, key: ConversationKey, conversation_id: str) -> Conversation | None:
        if await self.owned(key, conversation_id) is None:
            return None
        conv = await self._repo.activate(conversation_id)
        if conv is not None:
            await self._repo.archive_overflow(key.user_id, self.max_per_user)
        return conv

    @staticmethod
    def clean_title(title: str) -> str | None:
        """A user's title, trimmed to one line without control and bidi characters; None
        when empty or too long."""
        text = " ".join(visible(title).split())
        return text if 0 < len(text) <= MAX_TITLE_CHARS else None

    async def rename(self, key: ConversationKey, conversation_id: str, title: str) -> bool:
        if await self.owned(key, conversation_id) is None:
            return False
        return await self._repo.rename(conversation_id, title)

    async def delete(self, key: ConversationKey, conversation_id: str) -> bool:
        if await self.owned(key, conversation_id) is None:
            return False
        return await self._repo.delete(conversation_id)

    async def set_model(self, key: ConversationKey, model: str | None) -> Conversation:
        """/model: the active conversation takes the model (the user's default is the
        model service's job)."""
        conv = await self.active(key, model)
        await self._repo.set_model(conv.id, model)
        return conv.model_copy(update={"model": model})

    async def set_persona(self, key: ConversationKey, ref: str, user_model: str | None) -> bool:
        if not await self._personas.may_use(key.user_id, ref):
            return False
        conv = await self.active(key, user_model)
        return await self._repo.set_persona(conv.id, ref)

    # ---------------------------------------------------------------- replies

    async def continue_from(self, key: ConversationKey, message_id: int) -> Continued | None:
        """A reply to one of the bot's stored answers of this key. An answer of another
        conversation makes that conversation active again: as it is when the answer is its
        last turn, else as a copy that ends with that answer. An answer of the active one
        changes nothing (``current``). None: no such answer stored (or someone else's)."""
        found = await self._repo.find_by_message(key.chat_id, message_id)
        if found is None:
            return None
        conv, index = found
        if (conv.user_id, conv.chat_id, conv.thread_id) != (
            key.user_id,
            key.chat_id,
            key.thread_id,
        ):
            return None  # someone else's conversation: the reply is only quoted
        if conv.turns[index].role != "assistant":
            return None
        if conv.active:
            return Continued(conv, current=True, index=index)
        if index == len(conv.turns) - 1:
            opened = await self._repo.activate(conv.id)
            return Continued(opened, forked=False) if opened else None
        fork = await self._repo.start_new(
            key.user_id,
            key.chat_id,
            key.thread_id,
            model=conv.model,
            persona=conv.persona,
            title=conv.title,
        )
        # The copies lose their message ids: a reply to that answer finds the original.
        turns = [t.model_copy(update={"message_ids": []}) for t in conv.turns[: index + 1]]
        await self._repo.append(fork.id, turns)
        await self._repo.archive_overflow(key.user_id, self.max_per_user)
        copied = await self._repo.get(fork.id)
        return Continued(copied or fork, forked=True)


__all__ = [
    "PAGE_SIZE",
    "SEARCH_LIMIT",
    "Continued",
    "ConversationKey",
    "ConversationService",
    "NewConversation",
    "Page",
]
