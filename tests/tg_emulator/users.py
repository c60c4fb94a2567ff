"""Simulated Telegram users and groups: the test side that produces updates."""
# ruff: noqa: ASYNC109  -- `timeout=` on wait helpers is the test-facing API, on purpose

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from .chats import unix_now
from .files import media_object
from .formatting import Entity, auto_entities, utf16_len
from .methods.common import markup
from .methods.inline import posted_text
from .models import CallbackAnswer, EmuMessage, GuestQuery, InlineAnswer, InlineMessage

if TYPE_CHECKING:
    from .chats import ChatState
    from .server import TelegramEmulator

# A valid 1x1 PNG, so bots that open images (Pillow, the LLM vision path) get real bytes.
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
TINY_OGG = b"OggS\x00\x02" + b"\x00" * 58


class SimGroup:
    """A supergroup; users post into it with ``user.send_in(group, ...)``."""

    def __init__(self, emu: TelegramEmulator, id: int, title: str) -> None:
        self.emu, self.id, self.title = emu, id, title

    @property
    def chat(self) -> ChatState:
        return self.emu.chat(self.id)

    @property
    def messages(self) -> list[EmuMessage]:
        return self.chat.messages


class SimUser:
    """A Telegram user. Every ``send*`` queues an update and returns the stored message
    immediately; use ``emu.wait_for_message(user.id)`` to wait for the bot's reply."""

    def __init__(
        self,
        emu: TelegramEmulator,
        id: int,
        first_name: str,
        username: str | None,
        language_code: str | None,
        last_name: str | None = None,
        is_premium: bool = False,
    ) -> None:
        self.emu = emu
        self.id = id
        self.first_name = first_name
        self.username = username
        self.language_code = language_code
        self.last_name = last_name
        self.is_premium = is_premium

    @property
    def as_dict(self) -> dict[str, Any]:
        """Bot API ``User`` object."""
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.is_premium:
            data["is_premium"] = True
        return data

    @property
    def chat(self) -> ChatState:
        """The private chat with the bot."""
        return self.emu.chat(self.id)

    @property
    def messages(self) -> list[EmuMessage]:
        return self.chat.messages

    def block(self, blocked: bool = True) -> None:
        """The user blocks the bot: sends to this chat get 403 Forbidden."""
        self.chat.blocked = blocked

    # ---------------------------------------------------------------- messages

    def _post(
        self,
        chat: ChatState,
        text: str = "",
        entities: list[Entity] | None = None,
        *,
        kind: str = "text",
        media: Any = None,
        reply_to: EmuMessage | int | None = None,
        update_type: str = "message",
        thread_id: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> EmuMessage:
        reply_id = reply_to.message_id if isinstance(reply_to, EmuMessage) else reply_to
        if entities is None and kind == "text":
            entities = auto_entities(text)
        extra = dict(extra or {})
        if thread_id is not None:
            extra |= {"message_thread_id": thread_id, "is_topic_message": True}
        msg = self.emu.state.chats.store_message(
            chat,
            self.as_dict,
            text,
            entities,
            kind=kind,
            media=media,
            reply_to=reply_id,
            extra=extra,
        )
        reply = chat.messages_by_id.get(reply_id) if reply_id else None
        if self.emu.state.bot.sees(chat, msg):
            self.emu.enqueue_update({update_type: msg.to_api(with_reply=reply)})
        return msg

    async def send(
        self,
        text: str,
        *,
        entities: list[Entity] | None = None,
        reply_to: EmuMessage | int | None = None,
        quote: str | None = None,
        forwarded_from: str | None = None,
    ) -> EmuMessage:
        """A text message in the private chat (commands/@mentions get entities).
        ``quote``: the part of the replied-to message the user selected (Telegram's quote).
        ``forwarded_from``: a text forwarded from a user of that name (hidden account)."""
        extra: dict[str, Any] = {}
        if quote is not None:
            extra["quote"] = {"text": quote, "position": 0}
        if forwarded_from is not None:
            extra["forward_origin"] = _hidden_origin(forwarded_from)
        return self._post(self.chat, text, entities, reply_to=reply_to, extra=extra)

    async def send_in(
        self,
        group: SimGroup,
        text: str,
        *,
        reply_to: EmuMessage | int | None = None,
        mention_bot: bool = False,
        thread_id: int | None = None,
        forwarded_from: str | None = None,
        quote: str | None = None,
    ) -> EmuMessage:
        """A message in a group; ``mention_bot`` prefixes ``@<bot username> ``.

        With privacy mode on (default) the bot only receives it if it is a command, mentions
        the bot or replies to a bot message; the message is stored in the group either way.
        ``thread_id``: posted in that forum topic (``group(..., forum=True)``).
        ``forwarded_from``: a text forwarded from a user of that name (hidden account).
        ``quote``: the part of the replied-to message the user selected.
        """
        if mention_bot:
            text = f"@{self.emu.bot_username} {text}"
        extra: dict[str, Any] = {}
        if forwarded_from is not None:
            extra["forward_origin"] = _hidden_origin(forwarded_from)
        if quote is not None:
            extra["quote"] = {"text": quote, "position": 0}
        return self._post(
            group.chat, text, None, reply_to=reply_to, thread_id=thread_id, extra=extra
        )

    async def send_photo(
        self,
        data: bytes = TINY_PNG,
        caption: str | None = None,
        *,
        group: SimGroup | None = None,
        width: int = 1280,
        height: int = 960,
        media_group_id: str | None = None,
    ) -> EmuMessage:
        """``media_group_id``: an item of an album (Telegram sends each as its own update)."""
        stored = self.emu.state.files.store(data, "photos", "jpg", None, "image/jpeg")
        media = media_object("photo", stored, width=width, height=height)
        chat = group.chat if group else self.chat
        extra = {"media_group_id": media_group_id} if media_group_id else None
        return self._post(chat, caption or "", [], kind="photo", media=media, extra=extra)

    async def send_document(
        self,
        data: bytes = b"hello",
        filename: str = "file.txt",
        mime_type: str = "text/plain",
        caption: str | None = None,
        media_group_id: str | None = None,
    ) -> EmuMessage:
        ext = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
        stored = self.emu.state.files.store(data, "documents", ext, filename, mime_type)
        media = media_object("document", stored)
        extra = {"media_group_id": media_group_id} if media_group_id else None
        return self._post(self.chat, caption or "", [], kind="document", media=media, extra=extra)

    async def send_sticker(self, emoji: str = "👍") -> EmuMessage:
        stored = self.emu.state.files.store(
            b"RIFF\x00\x00\x00\x00WEBP", "stickers", "webp", None, None
        )
        media = media_object("sticker", stored, emoji=emoji)
        return self._post(self.chat, "", [], kind="sticker", media=media)

    async def send_voice(self, data: bytes = TINY_OGG, duration: int = 1) -> EmuMessage:
        stored = self.emu.state.files.store(data, "voice", "oga", None, "audio/ogg")
        media = media_object("voice", stored, duration=duration)
        return self._post(self.chat, "", [], kind="voice", media=media)

    async def send_audio(
        self,
        data: bytes = TINY_OGG,
        duration: int = 1,
        filename: str = "song.mp3",
        mime_type: str = "audio/mpeg",
    ) -> EmuMessage:
        """An audio file (a music-player attachment, not a voice note)."""
        ext = filename.rsplit(".", 1)[-1] if "." in filename else "mp3"
        stored = self.emu.state.files.store(data, "music", ext, filename, mime_type)
        media = media_object("audio", stored, duration=duration)
        return self._post(self.chat, "", [], kind="audio", media=media)

    async def send_video_note(
        self, data: bytes = b"\x00\x00\x00\x18ftypmp42", duration: int = 1
    ) -> EmuMessage:
        """A round video message."""
        stored = self.emu.state.files.store(data, "video_notes", "mp4", None, "video/mp4")
        media = media_object("video_note", stored, duration=duration)
        return self._post(self.chat, "", [], kind="video_note", media=media)

    async def edit(self, message: EmuMessage, new_text: str) -> EmuMessage:
        """The user edits one of their messages: an ``edited_message`` update."""
        if message.from_bot:
            raise ValueError("a user can only edit their own messages")
        message.edits.append(message.text)
        message.text = new_text
        message.entities = auto_entities(new_text)
        message.edit_date = unix_now()
        if self.emu.state.bot.sees(self.emu.chat(message.chat_id), message):
            self.emu.enqueue_update({"edited_message": message.to_api()})
        return message

    def stop_generation(self, draft_id: int | None = None) -> dict[str, Any]:
        """Press the native Stop on the draft the private chat shows (see
        ``TelegramEmulator.press_stop``); returns the queued update."""
        return self.emu.press_stop(self.id, draft_id)

    # -------------------------------------------------------- callbacks/inline

    async def press(
        self,
        message: EmuMessage,
        button: str,
        *,
        wait_answer: bool = True,
        timeout: float = 10.0,
    ) -> CallbackAnswer | None:
        """Press an inline button found by its text (first) or its callback_data."""
        buttons = message.buttons
        found = next((b for b in buttons if b.get("text") == button), None)
        found = found or next((b for b in buttons if b.get("callback_data") == button), None)
        if found is None:
            raise ValueError(
                f"no button {button!r} on message {message.message_id}; buttons: "
                f"{[(b.get('text'), b.get('callback_data')) for b in buttons]}"
            )
        if found.get("callback_data") is None:
            raise ValueError(f"button {button!r} is not a callback button: {found}")
        return await self.send_callback(
            found["callback_data"], message, wait_answer=wait_answer, timeout=timeout
        )

    async def send_callback(
        self,
        data: str,
        message: EmuMessage | None = None,
        *,
        wait_answer: bool = True,
        timeout: float = 10.0,
    ) -> CallbackAnswer | None:
        """A callback_query with arbitrary data (forged callbacks, stale buttons...)."""
        qid = self.emu.issue_query_id()
        query: dict[str, Any] = {
            "id": qid,
            "from": self.as_dict,
            "chat_instance": str(abs(hash((self.id, message.chat_id if message else 0)))),
            "data": data,
        }
        if message is not None:
            query["message"] = message.to_api()
        self.emu.enqueue_update({"callback_query": query})
        if not wait_answer:
            return None
        try:
            answer: CallbackAnswer = await self.emu.wait_until(
                lambda: self.emu.callback_answers.get(qid), timeout
            )
        except TimeoutError:
            raise TimeoutError(f"bot did not answer callback {data!r} within {timeout}s") from None
        return answer

    async def inline_query(
        self, query: str, *, offset: str = "", wait_answer: bool = True, timeout: float = 10.0
    ) -> InlineAnswer | None:
        qid = self.emu.issue_query_id()
        self.emu.state.queries.inline_queries[qid] = (self.id, query)
        self.emu.enqueue_update(
            {
                "inline_query": {
                    "id": qid,
                    "from": self.as_dict,
                    "query": query,
                    "offset": offset,
                    "chat_type": "sender",
                }
            }
        )
        if not wait_answer:
            return None
        answer: InlineAnswer = await self.emu.wait_until(
            lambda: self.emu.inline_answers.get(qid), timeout
        )
        return answer

    def choose(
        self, answer: InlineAnswer, result_id: str | None = None, *, where: SimGroup | None = None
    ) -> InlineMessage:
        """The user picks a result of ``answer`` (the first, or ``result_id``): the client
        posts its message "via" the bot (into ``where``, else a chat the test does not
        model) and, with inline feedback on, Telegram sends ``chosen_inline_result``. Like
        Telegram, the update carries an ``inline_message_id`` only when the result has an
        inline keyboard (else the bot can never edit the message)."""
        results = answer.results
        if not results:
            raise ValueError(f"inline query {answer.inline_query_id} has no results to choose")
        found = next((r for r in results if result_id in (None, r["id"])), None)
        if found is None:
            raise ValueError(f"no result {result_id!r}; ids: {[r['id'] for r in results]}")
        state = self.emu.state
        text, entities = posted_text(state, found)
        keyboard = markup(found, None)
        posted = state.inline.post(
            text,
            entities,
            reply_markup=keyboard,
            chat_id=where.id if where else None,
            sender_id=self.id,
            result_id=found["id"],
        )
        _user, query = state.queries.inline_queries.get(answer.inline_query_id, (self.id, ""))
        if state.behaviour.inline_feedback:
            chosen: dict[str, Any] = {
                "result_id": found["id"],
                "from": self.as_dict,
                "query": query,
            }
            if keyboard:
                chosen["inline_message_id"] = posted.inline_message_id
            self.emu.enqueue_update({"chosen_inline_result": chosen})
        return posted

    def send_guest(
        self,
        where: SimGroup | SimUser,
        text: str,
        *,
        reply_to: EmuMessage | int | None = None,
        photo: bool = False,
        voice: bool = False,
    ) -> GuestQuery:
        """The user mentions the bot (prefixed ``@<bot username> ``) in a chat the bot is not
        a member of: the message is stored there and, guest mode being Bot API 10.0, the
        bot gets a ``guest_message`` with a ``guest_query_id`` (whatever privacy mode says).
        ``photo``/``voice``: the question carries that media (``text`` is its caption)."""
        chat = where.chat if isinstance(where, SimGroup) else self.emu.chat(where.id)
        text = f"@{self.emu.bot_username} {text}".strip()
        kind, media = "text", None
        if photo:
            stored = self.emu.state.files.store(TINY_PNG, "photos", "jpg", None, "image/jpeg")
            kind, media = "photo", media_object("photo", stored, width=1, height=1)
        elif voice:
            stored = self.emu.state.files.store(TINY_OGG, "voice", "oga", None, "audio/ogg")
            kind, media = "voice", media_object("voice", stored, duration=1)
        reply_id = reply_to.message_id if isinstance(reply_to, EmuMessage) else reply_to
        entities = [mention_entity(text, self.emu.bot_username)]
        msg = self.emu.state.chats.store_message(
            chat, self.as_dict, text, entities, kind=kind, media=media, reply_to=reply_id
        )
        qid = self.emu.issue_query_id()
        query = GuestQuery(qid, self.id, chat.id, msg.message_id)
        self.emu.state.queries.guest_queries[qid] = query
        replied = chat.messages_by_id.get(reply_id) if reply_id else None
        payload = msg.to_api(with_reply=replied) | {"guest_query_id": qid}
        self.emu.enqueue_update({"guest_message": payload})
        return query


def mention_entity(text: str, username: str) -> Entity:
    """The mention entity for the first ``@username`` in ``text`` (helper for tests)."""
    idx = text.index(f"@{username}")
    return {
        "type": "mention",
        "offset": utf16_len(text[:idx]),
        "length": utf16_len(username) + 1,
    }


__all__ = ["TINY_OGG", "TINY_PNG", "SimGroup", "SimUser", "mention_entity"]


def _hidden_origin(name: str) -> dict[str, Any]:
    """A forward from a user who hides their account: Telegram gives only the name."""
    return {"type": "hidden_user", "date": unix_now(), "sender_user_name": name}
