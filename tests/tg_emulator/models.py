"""Plain records the emulator keeps, so tests can assert what a Telegram user would see."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .formatting import Entity, entity_text
from .formatting.rich import received_blocks


@dataclass
class ApiCall:
    """One HTTP request the bot made (after parameter decoding)."""

    method: str  # as sent by the client, e.g. "sendMessage"
    params: dict[str, Any]
    time: float  # time.monotonic() at arrival
    files: dict[str, str] = field(default_factory=dict)  # form field -> filename
    status: int = 0  # HTTP status served
    ok: bool = False
    description: str | None = None  # error description when not ok
    result: Any = None  # the JSON "result" served when ok
    injected: bool = False  # True when the answer came from fail_next() or the flood limiter
    lost: bool = False  # handled, but the connection was dropped instead of answering

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    filename: str | None = None
    mime_type: str | None = None


@dataclass
class EmuMessage:
    """A message as it currently looks in the chat (edits applied; ``deleted`` if removed).

    ``text`` is what a client shows (HTML/Markdown already parsed), ``entities`` are Bot API
    entity dicts with UTF-16 offsets. For media messages ``text`` is the caption. A rich
    message (``kind == "rich"``) keeps ``rich_message`` (the InputRichMessage as sent),
    ``rich_blocks`` (its blocks as sent; html/markdown: one paragraph per line) and
    ``rich_source`` ("blocks", "html" or "markdown"); its ``text`` is the plain rendering
    described in ``formatting.rich``.
    """

    message_id: int
    chat: dict[str, Any]
    from_user: dict[str, Any]
    date: int
    text: str = ""
    entities: list[Entity] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None  # inline keyboard only (that is what Telegram keeps)
    kind: str = "text"  # text | photo | document | sticker | voice | audio | video_note
    media: dict[str, Any] | list[dict[str, Any]] | None = None  # Bot API object(s) for media
    reply_to_message_id: int | None = None
    edit_date: int | None = None
    deleted: bool = False
    edits: list[str] = field(default_factory=list)  # previous texts, oldest first
    extra: dict[str, Any] = field(default_factory=dict)  # raw send parameters kept for asserts
    rich_message: dict[str, Any] | None = None  # kind "rich": the InputRichMessage as sent
    rich_blocks: list[dict[str, Any]] | None = None
    rich_source: str | None = None

    @property
    def is_rich(self) -> bool:
        return self.kind == "rich"

    @property
    def chat_id(self) -> int:
        return int(self.chat["id"])

    @property
    def from_bot(self) -> bool:
        return bool(self.from_user.get("is_bot"))

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Inline keyboard buttons, row by row, flattened."""
        if not self.reply_markup:
            return []
        return [b for row in self.reply_markup.get("inline_keyboard", []) for b in row]

    @property
    def button_texts(self) -> list[str]:
        return [b.get("text", "") for b in self.buttons]

    def entity_texts(self, etype: str | None = None) -> list[tuple[str, str]]:
        """[(type, covered text)] to assert formatting without UTF-16 arithmetic."""
        return [
            (e["type"], entity_text(self.text, e))
            for e in self.entities
            if etype is None or e["type"] == etype
        ]

    def to_api(self, *, with_reply: EmuMessage | None = None) -> dict[str, Any]:
        """Bot API ``Message`` JSON."""
        data: dict[str, Any] = {
            "message_id": self.message_id,
            "date": self.date,
            "chat": dict(self.chat),
            "from": dict(self.from_user),
        }
        text_key, ent_key = (
            ("text", "entities") if self.kind == "text" else ("caption", "caption_entities")
        )
        if self.kind == "rich":
            rich: dict[str, Any] = {"blocks": received_blocks(self.rich_blocks or [])}
            if (self.rich_message or {}).get("is_rtl"):
                rich["is_rtl"] = True
            data["rich_message"] = rich
        elif self.text or self.kind == "text":
            data[text_key] = self.text
        if self.entities and self.kind != "rich":
            data[ent_key] = [dict(e) for e in self.entities]
        if self.kind not in ("text", "rich") and self.media is not None:
            data[self.kind] = self.media
        if self.reply_markup:
            data["reply_markup"] = self.reply_markup
        if self.edit_date:
            data["edit_date"] = self.edit_date
        if with_reply is not None:
            data["reply_to_message"] = with_reply.to_api()
        # Forum topics, forwards and partial quotes (kept in ``extra`` when stored).
        for key in (
            "message_thread_id",
            "is_topic_message",
            "forward_origin",
            "quote",
            "media_group_id",
        ):
            if self.extra.get(key) is not None:
                data[key] = self.extra[key]
        return data


@dataclass
class Draft:
    """One sendMessageDraft/sendRichMessageDraft call that Telegram accepted. A rich draft
    keeps ``rich_message``/``rich_blocks`` like EmuMessage; ``text`` is its plain rendering.
    ``stopped`` is set when the user pressed Stop on it (``SimUser.stop_generation``)."""

    chat_id: int
    draft_id: int
    text: str
    entities: list[Entity]
    time: float = field(default_factory=time.monotonic)
    message_thread_id: int | None = None
    can_stop: bool = False
    keep_on_stop: bool = False
    rich_message: dict[str, Any] | None = None
    rich_blocks: list[dict[str, Any]] | None = None
    stopped: bool = False

    @property
    def is_rich(self) -> bool:
        return self.rich_message is not None


@dataclass
class ChatAction:
    chat_id: int
    action: str
    time: float = field(default_factory=time.monotonic)


@dataclass
class CallbackAnswer:
    """What the bot answered to a callback query (answerCallbackQuery parameters)."""

    callback_query_id: str
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    cache_time: int | None = None


@dataclass
class InlineAnswer:
    inline_query_id: str
    results: list[dict[str, Any]]
    params: dict[str, Any]


@dataclass
class InlineMessage:
    """A message posted "via" the bot from inline mode (a chosen result) or guest mode
    (answerGuestQuery): the bot reaches it only by ``inline_message_id``. ``edits`` keeps
    the texts it showed before, like EmuMessage."""

    inline_message_id: str
    text: str
    entities: list[Entity]
    reply_markup: dict[str, Any] | None = None
    chat_id: int | None = None  # where it was posted (guest mode names the chat)
    sender_id: int | None = None  # the user whose choice or mention posted it
    result_id: str | None = None
    guest_query_id: str | None = None
    edits: list[str] = field(default_factory=list)
    edit_times: list[float] = field(default_factory=list)

    @property
    def buttons(self) -> list[dict[str, Any]]:
        if not self.reply_markup:
            return []
        return [b for row in self.reply_markup.get("inline_keyboard", []) for b in row]

    def entity_texts(self, etype: str | None = None) -> list[tuple[str, str]]:
        return [
            (e["type"], entity_text(self.text, e))
            for e in self.entities
            if etype is None or e["type"] == etype
        ]


@dataclass
class GuestQuery:
    """A guest message Telegram delivered: who summoned the bot, where, and the answer."""

    guest_query_id: str
    user_id: int
    chat_id: int
    message_id: int
    answer: InlineMessage | None = None


@dataclass
class WebhookDelivery:
    update_id: int
    url: str
    status: int | None  # HTTP status, None on connection error
    error: str | None = None
    time: float = field(default_factory=time.monotonic)


@dataclass
class FaultRule:
    """A programmed failure: served instead of the real answer while ``remaining`` > 0."""

    method: str  # lower-case method name or "*"
    code: int | None  # None: only delay, then answer normally
    description: str
    retry_after: int | None = None
    remaining: int = 1
    when: Callable[[dict[str, Any]], bool] | None = None
    delay: float = 0.0
    hits: int = 0
    # Handle the call normally, then drop the connection instead of answering: Telegram
    # acted on it, the bot never hears so (a response lost on the network).
    lose_response: bool = False

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        lname = method.lower()
        if self.remaining <= 0 or self.method not in ("*", lname):
            return False
        if self.method == "*" and lname == "getupdates":
            return False  # "*" means the bot's calls; breaking the poll loop must be explicit
        return self.when is None or bool(self.when(params))


@dataclass
class FloodLimits:
    """A realistic limiter: token buckets per chat, per group (per minute) and per bot."""

    per_chat_rate: float = 1.0  # message operations per second, sustained
    per_chat_burst: float = 3.0  # short bursts Telegram tolerates
    group_per_minute: float = 20.0
    global_rate: float = 30.0
    global_burst: float = 30.0
    count_drafts: bool = False  # drafts are meant for streaming; Telegram is lenient with them
