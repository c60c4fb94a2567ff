"""Conversations in dicts: the in-memory twin of ``app.storage.mongo.conversations``.

Bounded: beyond ``max_conversations`` the least recently used inactive conversation (read,
appended to or opened) is forgotten, with a warning in the log the first time, so a flood of
chats can't exhaust the process. A conversation that is active in its chat is never
forgotten (so there can be more of those than the bound). Every method runs without an
``await`` between read and write, so each call is atomic on one loop."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime

from bson import ObjectId

from app.storage.models import (
    DEFAULT_MAX_TURNS,
    Conversation,
    ConversationInfo,
    Turn,
    answer_start,
    utc_ms,
)
from app.storage.words import words_of, words_of_all

log = logging.getLogger(__name__)

#: Conversations the in-memory store keeps; the least recently used are forgotten beyond it.
DEFAULT_MAX_CONVERSATIONS = 10_000

Key = tuple[int, int, int]  # (user, chat, thread)


def _key(conv: ConversationInfo) -> Key:
    return (conv.user_id, conv.chat_id, conv.thread_id)


def info_of(conv: Conversation) -> ConversationInfo:
    return ConversationInfo.model_validate(conv.model_dump(exclude={"turns"}))


def _newest_first(convs: Iterable[Conversation]) -> list[Conversation]:
    return sorted(convs, key=lambda c: (c.updated_at, c.id), reverse=True)


class MemoryConversationRepository:
    def __init__(
        self,
        max_turns: int = DEFAULT_MAX_TURNS,
        max_conversations: int = DEFAULT_MAX_CONVERSATIONS,
    ) -> None:
        if max_conversations < 1:
            raise ValueError("max_conversations must be at least 1")
        self._max_turns = max_turns
        self._max_conversations = max_conversations
        self._convs: OrderedDict[str, Conversation] = OrderedDict()  # oldest use first
        self._active: dict[Key, str] = {}
        self._by_key: dict[Key, set[str]] = {}
        self._by_user: dict[int, set[str]] = {}
        self._words: dict[str, set[str]] = {}  # words of every message ever stored
        self._by_message: dict[tuple[int, int], str] = {}
        self._warned = False  # the first forgotten conversation is logged

    # ------------------------------------------------------------------ internals

    def _touch(self, conversation_id: str) -> Conversation | None:
        conv = self._convs.get(conversation_id)
        if conv is not None:
            self._convs.move_to_end(conversation_id)
        return conv

    def _forget(self, conv: Conversation) -> None:
        self._convs.pop(conv.id, None)
        key = _key(conv)
        if self._active.get(key) == conv.id:
            del self._active[key]
        self._by_key.get(key, set()).discard(conv.id)
        self._by_user.get(conv.user_id, set()).discard(conv.id)
        self._words.pop(conv.id, None)
        self._unindex_messages(conv, conv.turns)

    def _unindex_messages(self, conv: Conversation, turns: Iterable[Turn]) -> None:
        """Drop the message ids of ``turns`` (trimmed, replaced or forgotten) from the index."""
        for turn in turns:
            for mid in turn.message_ids:
                if self._by_message.get((conv.chat_id, mid)) == conv.id:
                    del self._by_message[(conv.chat_id, mid)]

    def _evict(self) -> None:
        """Forget the least recently used inactive conversations beyond the bound. Active
        ones are passed over (moved to the recent end, so each is looked at once)."""
        passed = 0
        while len(self._convs) > self._max_conversations and passed < len(self._convs):
            conv_id, old = next(iter(self._convs.items()))
            if old.active:
                self._convs.move_to_end(conv_id)
                passed += 1
                continue
            if not self._warned:
                self._warned = True
                log.warning(
                    "in-memory storage: more than %d conversations; the least recently used "
                    "inactive ones are being forgotten (set MONGODB_URI to keep them all, or "
                    "raise BOT_MEMORY_MAX_CONVERSATIONS)",
                    self._max_conversations,
                )
            self._forget(old)

    def _index_turns(self, conv: Conversation, turns: Sequence[Turn]) -> None:
        self._words.setdefault(conv.id, set()).update(words_of_all(t.content for t in turns))
        for turn in turns:
            for mid in turn.message_ids:
                self._by_message[(conv.chat_id, mid)] = conv.id

    def _open(
        self,
        key: Key,
        model: str | None,
        persona: str | None,
        title: str | None = None,
        incognito: bool = False,
        active: bool = True,
    ) -> Conversation:
        now = utc_ms()
        user_id, chat_id, thread_id = key
        conv = Conversation(
            id=str(ObjectId()),
            user_id=user_id,
            chat_id=chat_id,
            thread_id=thread_id,
            model=model,
            persona=persona,
            title=title,
            incognito=incognito,
            active=active,
            created_at=now,
            updated_at=now,
        )
        self._convs[conv.id] = conv
        if active:
            self._active[key] = conv.id
        self._by_key.setdefault(key, set()).add(conv.id)
        self._by_user.setdefault(user_id, set()).add(conv.id)
        self._evict()
        return conv

    def _of_key(self, key: Key) -> list[Conversation]:
        return [self._convs[i] for i in self._by_key.get(key, ()) if i in self._convs]

    # ------------------------------------------------------------------ contract

    async def active(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int = 0,
        *,
        model: str | None = None,
        persona: str | None = None,
    ) -> Conversation:
        key = (user_id, chat_id, thread_id)
        conv_id = self._active.get(key)
        conv = self._touch(conv_id) if conv_id else None
        if conv is None:
            conv = self._open(key, model, persona)
        return conv.model_copy(deep=True)

    async def get(self, conversation_id: str) -> Conversation | None:
        conv = self._touch(conversation_id)
        return conv.model_copy(deep=True) if conv else None

    async def append(self, conversation_id: str, turns: Sequence[Turn]) -> None:
        conv = self._touch(conversation_id)
        if conv is None or not turns:
            return
        added = [
            t.model_copy(update={"created_at": utc_ms(t.created_at)}, deep=True) for t in turns
        ]
        conv.turns.extend(added)
        self._index_turns(conv, added)
        # Trimmed turns take their message ids out of the index (it stays bounded).
        trimmed = max(0, len(conv.turns) - self._max_turns)
        self._unindex_messages(conv, conv.turns[:trimmed])
        del conv.turns[:trimmed]
        conv.updated_at = utc_ms()

    async def start_new(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int = 0,
        *,
        model: str | None = None,
        persona: str | None = None,
        title: str | None = None,
        incognito: bool = False,
    ) -> Conversation:
        key = (user_id, chat_id, thread_id)
        old_id = self._active.pop(key, None)
        old = self._convs.get(old_id) if old_id else None
        if old is not None:
            self._leave(old)
        return self._open(key, model, persona, title, incognito).model_copy(deep=True)

    async def add_aside(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int = 0,
        *,
        model: str | None = None,
        persona: str | None = None,
        title: str | None = None,
    ) -> Conversation:
        key = (user_id, chat_id, thread_id)
        return self._open(key, model, persona, title, active=False).model_copy(deep=True)

    def _leave(self, conv: Conversation) -> None:
        """``conv`` stops being the active one: kept, or gone if it was incognito."""
        if conv.incognito:
            self._forget(conv)
            return
        conv.active = False
        conv.updated_at = utc_ms()

    async def activate(self, conversation_id: str) -> Conversation | None:
        conv = self._touch(conversation_id)
        if conv is None:
            return None
        key = _key(conv)
        current = self._convs.get(self._active.get(key, ""))
        if current is not None and current.id != conv.id:
            self._leave(current)
        conv.active, conv.archived = True, False
        conv.updated_at = utc_ms()
        self._active[key] = conv.id
        return conv.model_copy(deep=True)

    async def list_page(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int = 0,
        *,
        archived: bool = False,
        offset: int = 0,
        limit: int = 8,
    ) -> list[ConversationInfo]:
        found = [c for c in self._of_key((user_id, chat_id, thread_id)) if c.archived == archived]
        return [info_of(c) for c in _newest_first(found)[max(0, offset) : offset + limit]]

    async def count(
        self, user_id: int, chat_id: int, thread_id: int = 0, *, archived: bool = False
    ) -> int:
        return sum(1 for c in self._of_key((user_id, chat_id, thread_id)) if c.archived == archived)

    async def search(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int,
        words: Sequence[str],
        *,
        limit: int = 50,
    ) -> list[ConversationInfo]:
        if not words:
            return []
        hits = []
        for conv in self._of_key((user_id, chat_id, thread_id)):
            said = self._words.get(conv.id, set())
            titled = words_of(conv.title) if conv.title else set()
            if all(w in said or w in titled for w in words):
                hits.append(conv)
        return [info_of(c) for c in _newest_first(hits)[:limit]]

    async def rename(self, conversation_id: str, title: str) -> bool:
        conv = self._convs.get(conversation_id)
        if conv is None:
            return False
        conv.title = title
        return True

    async def replace_title(self, conversation_id: str, old: str | None, new: str) -> bool:
        conv = self._convs.get(conversation_id)
        if conv is None or conv.title != old:
            return False
        conv.title = new
        return True

    async def set_model(self, conversation_id: str, model: str | None) -> bool:
        conv = self._convs.get(conversation_id)
        if conv is None:
            return False
        conv.model = model
        return True

    async def set_persona(self, conversation_id: str, persona: str | None) -> bool:
        conv = self._convs.get(conversation_id)
        if conv is None:
            return False
        conv.persona = persona
        return True

    async def delete(self, conversation_id: str) -> bool:
        conv = self._convs.get(conversation_id)
        if conv is None:
            return False
        self._forget(conv)
        return True

    async def set_summary(
        self,
        conversation_id: str,
        summary: str,
        until: datetime,
        *,
        previous_until: datetime | None,
    ) -> bool:
        conv = self._convs.get(conversation_id)
        if conv is None:
            return False
        before = utc_ms(conv.summary_until) if conv.summary_until else None
        if before != (utc_ms(previous_until) if previous_until else None):
            return False
        conv.summary, conv.summary_until = summary, utc_ms(until)
        return True

    async def delete_all_of_user(self, user_id: int) -> int:
        mine = [self._convs[i] for i in list(self._by_user.get(user_id, ())) if i in self._convs]
        for conv in mine:
            self._forget(conv)
        return len(mine)

    async def archive_overflow(self, user_id: int, keep: int) -> list[ConversationInfo]:
        mine = [self._convs[i] for i in self._by_user.get(user_id, ()) if i in self._convs]
        unarchived = [c for c in mine if not c.archived]
        excess = len(unarchived) - keep
        if excess <= 0:
            return []
        candidates = sorted(
            (c for c in unarchived if not c.active), key=lambda c: (c.updated_at, c.id)
        )
        archived = candidates[:excess]
        for conv in archived:
            conv.archived = True
        return [info_of(c) for c in archived]

    async def find_by_message(
        self, chat_id: int, message_id: int
    ) -> tuple[Conversation, int] | None:
        conv = self._convs.get(self._by_message.get((chat_id, message_id), ""))
        if conv is None:
            return None
        for index, turn in enumerate(conv.turns):
            if message_id in turn.message_ids:
                return conv.model_copy(deep=True), index
        return None  # the turn was trimmed away

    def _last_assistant(self, conversation_id: str) -> tuple[Conversation, Turn] | None:
        conv = self._convs.get(conversation_id)
        if conv is None:
            return None
        turn = next((t for t in reversed(conv.turns) if t.role == "assistant"), None)
        return (conv, turn) if turn is not None else None

    async def set_message_ids(self, conversation_id: str, message_ids: Sequence[int]) -> bool:
        found = self._last_assistant(conversation_id)
        if found is None:
            return False
        conv, turn = found
        self._unindex_messages(conv, [turn])
        turn.message_ids = list(message_ids)
        self._index_turns(conv, [turn.model_copy(update={"content": ""})])
        return True

    async def replace_last_assistant(
        self, conversation_id: str, turn: Turn, tool_turns: Sequence[Turn] = ()
    ) -> bool:
        found = self._last_assistant(conversation_id)
        if found is None:
            return False
        conv, old = found
        new = [
            t.model_copy(update={"created_at": utc_ms(t.created_at)}, deep=True)
            for t in (*tool_turns, turn)
        ]
        index = conv.turns.index(old)
        start = answer_start(conv.turns, index)
        replaced = conv.turns[start : index + 1]
        conv.turns[start : index + 1] = new
        self._unindex_messages(conv, replaced)
        conv.updated_at = utc_ms()
        self._index_turns(conv, new)
        return True

    async def replace_last_exchange(
        self, conversation_id: str, question_message_id: int, turns: Sequence[Turn]
    ) -> bool:
        conv = self._convs.get(conversation_id)
        if conv is None:
            return False
        index = next(
            (i for i in range(len(conv.turns) - 1, -1, -1) if conv.turns[i].role == "user"), None
        )
        if index is None or question_message_id not in conv.turns[index].message_ids:
            return False
        new = [t.model_copy(update={"created_at": utc_ms(t.created_at)}, deep=True) for t in turns]
        self._unindex_messages(conv, conv.turns[index:])
        conv.turns[index:] = new
        conv.updated_at = utc_ms()
        self._index_turns(conv, new)
        return True

    async def extend_last_assistant(
        self, conversation_id: str, text: str, message_ids: Sequence[int] = ()
    ) -> bool:
        found = self._last_assistant(conversation_id)
        if found is None:
            return False
        conv, turn = found
        turn.content += text
        turn.message_ids.extend(message_ids)
        conv.updated_at = utc_ms()
        self._index_turns(
            conv, [Turn(role="assistant", content=text, message_ids=list(message_ids))]
        )
        return True
