"""The emulated Telegram's state: the bot, chats, files, updates and answered queries.

Method handlers read and change it; the test API observes it. Nothing here speaks HTTP.
"""

from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field
from typing import Any

from .changes import Changes
from .chats import Chats, ChatState
from .files import FileStore
from .models import CallbackAnswer, EmuMessage, GuestQuery, InlineAnswer, InlineMessage
from .updates import UpdateQueue
from .wire import DRAFT_PEER_INVALID


@dataclass
class BotProfile:
    """The bot as Telegram knows it."""

    token: str
    username: str
    first_name: str
    # Group privacy mode (Telegram's default for bots): in groups the bot only gets
    # commands, mentions of itself and replies to its messages.
    privacy_mode: bool = True

    @property
    def id(self) -> int:
        head = self.token.split(":", 1)[0]
        return int(head) if head.isdigit() else 1

    def as_user(self) -> dict[str, Any]:
        """Bot API ``User`` of the bot."""
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def sees(self, chat: ChatState, msg: EmuMessage) -> bool:
        """Whether privacy mode lets a message reach the bot."""
        if chat.type == "private" or not self.privacy_mode:
            return True
        if msg.text.startswith("/"):
            return True
        mention = f"@{self.username}".lower()
        if any(t == "mention" and s.lower() == mention for t, s in msg.entity_texts()):
            return True
        replied = chat.messages_by_id.get(msg.reply_to_message_id or 0)
        return replied is not None and replied.from_bot


@dataclass
class Behaviour:
    """Knobs a test may turn mid-test (through the emulator's attributes of the same name)."""

    strict_html: bool = False  # a bare "&" in HTML is an error instead of a literal
    drafts_allowed: bool = True
    draft_refusal: tuple[int, str] = (400, DRAFT_PEER_INVALID)
    # Bot API 10.1 rich messages; off: an old server (rich methods 404, rich_message ignored)
    rich_messages: bool = True
    # @BotFather's /setinlinefeedback: chosen inline results are sent to the bot
    inline_feedback: bool = True


@dataclass
class Queries:
    """Callback and inline query ids Telegram issued, and the bot's answers to them."""

    issued: set[str] = field(default_factory=set)
    callback_answers: dict[str, CallbackAnswer] = field(default_factory=dict)
    inline_answers: dict[str, InlineAnswer] = field(default_factory=dict)
    # inline query id -> (user id, query text): what a chosen result reports back
    inline_queries: dict[str, tuple[int, str]] = field(default_factory=dict)
    guest_queries: dict[str, GuestQuery] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def issue(self, qid: str | None = None) -> str:
        """Make a query id valid to answer (Telegram rejects ids it never issued)."""
        qid = qid or str(next(self._ids) * 1_000_003 + secrets.randbelow(1000))
        self.issued.add(qid)
        return qid


@dataclass
class InlineMessages:
    """Messages posted via the bot (inline and guest mode), by inline_message_id."""

    by_id: dict[str, InlineMessage] = field(default_factory=dict)

    def post(self, text: str, entities: list[Any], **fields: Any) -> InlineMessage:
        # Telegram's ids are opaque base64-ish strings; tests only compare them.
        mid = "AgAAA" + secrets.token_urlsafe(18)
        message = InlineMessage(mid, text, entities, **fields)
        self.by_id[mid] = message
        return message


@dataclass
class EmulatorState:
    """Everything a method handler may read or change."""

    bot: BotProfile
    behaviour: Behaviour = field(default_factory=Behaviour)
    changes: Changes = field(default_factory=Changes)
    files: FileStore = field(default_factory=FileStore)
    queries: Queries = field(default_factory=Queries)
    inline: InlineMessages = field(default_factory=InlineMessages)
    # setMyCommands lists by (scope key, language code)
    commands: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    chats: Chats = field(init=False)
    updates: UpdateQueue = field(init=False)

    def __post_init__(self) -> None:
        self.chats = Chats(self.changes)
        self.updates = UpdateQueue(self.changes)
