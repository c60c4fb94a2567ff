"""The emulated Bot API methods (a mixin of TelegramEmulator, kept apart for size)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .formatting import (
    Entity,
    ParseError,
    parse_html,
    parse_markdown_legacy,
    parse_markdown_v2,
    sort_entities,
    trim,
    utf16_len,
    validate_entities,
)
from .models import (
    CallbackAnswer,
    ChatAction,
    Draft,
    EmuMessage,
    InlineAnswer,
    StoredFile,
)
from .state import ChatState
from .wire import (
    _BUTTON_ACTIONS,
    _CHAT_ACTIONS,
    _DEFAULT_ALLOWED,
    DRAFT_PEER_INVALID,
    NOT_MODIFIED,
    ApiError,
    UploadedFile,
    _bad,
    _first_file_id,
    _number,
    _scope_key,
    _update_type,
)


class BotApiMethods:
    """Method handlers: ``async def _name(params, files) -> result`` raising ApiError.

    State lives on TelegramEmulator; the annotations below name what the handlers use.
    """

    _chats: dict[int, ChatState]
    _commands: dict[tuple[str, str], list[dict[str, Any]]]
    _pending: list[dict[str, Any]]
    _allowed_updates: frozenset[str]
    _poll_generation: int
    _closing: bool
    _changed: asyncio.Event
    _webhook: dict[str, Any]
    _deliver_urls: list[str]
    _issued_queries: set[str]
    files: dict[str, StoredFile]
    callback_answers: dict[str, CallbackAnswer]
    inline_answers: dict[str, InlineAnswer]
    strict_html: bool
    drafts_allowed: bool
    draft_refusal: tuple[int, str]
    privacy_mode: bool

    if TYPE_CHECKING:

        @property
        def bot_user(self) -> dict[str, Any]: ...

        def _notify(self) -> None: ...
        def _now(self) -> int: ...
        def _store_message(
            self,
            chat: ChatState,
            from_user: dict[str, Any],
            text: str = "",
            entities: list[Entity] | None = None,
            *,
            kind: str = "text",
            media: Any = None,
            reply_markup: dict[str, Any] | None = None,
            reply_to: int | None = None,
            extra: dict[str, Any] | None = None,
        ) -> EmuMessage: ...
        def _store_file(
            self, data: bytes, folder: str, ext: str, filename: str | None, mime: str | None
        ) -> StoredFile: ...
        def _media_object(self, kind: str, stored: StoredFile, **extra: Any) -> Any: ...

    # ----------------------------------------------------------- common checks

    def _chat_for(self, params: dict[str, Any]) -> ChatState:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if isinstance(chat_id, str):
            found = [c for c in self._chats.values() if f"@{c.chat.get('username')}" == chat_id]
            if not found:
                raise _bad("chat not found")
            return found[0]
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise _bad("chat not found")
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _formatted(
        self,
        params: dict[str, Any],
        text_key: str = "text",
        entities_key: str = "entities",
        *,
        limit: int = 4096,
        required: bool = True,
    ) -> tuple[str, list[Entity]]:
        raw = params.get(text_key)
        text = "" if raw is None else str(raw)
        parse_mode = params.get("parse_mode")
        try:
            if parse_mode:
                mode = str(parse_mode).lower()
                if mode == "html":
                    text, entities = parse_html(text, strict_ampersand=self.strict_html)
                elif mode == "markdownv2":
                    text, entities = parse_markdown_v2(text)
                elif mode == "markdown":
                    text, entities = parse_markdown_legacy(text)
                else:
                    raise _bad("unsupported parse_mode")
            elif params.get(entities_key) is not None:
                entities = validate_entities(text, params[entities_key])
            else:
                entities = []
        except ParseError as exc:
            raise _bad(f"can't parse entities: {exc}") from None
        text, entities = trim(text, entities)
        if required and not text:
            raise _bad("message text is empty")
        if utf16_len(text) > limit:
            raise _bad(
                "message caption is too long" if text_key == "caption" else "message is too long"
            )
        return text, entities

    def _markup(self, params: dict[str, Any], chat: ChatState | None) -> dict[str, Any] | None:
        """Validate reply_markup; return the inline keyboard to store on the message."""
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            if chat is not None:
                chat.reply_keyboard = markup
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad("can't parse inline keyboard button: InlineKeyboardMarkup must be an Array")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise _bad("can't parse inline keyboard button: Text must be a String")
                actions = [a for a in _BUTTON_ACTIONS if button.get(a) is not None]
                if not actions:
                    raise _bad(
                        "can't parse inline keyboard button: Text buttons are unallowed in the "
                        "inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise _bad("BUTTON_DATA_INVALID")
                url = button.get("url")
                if url is not None and not str(url).startswith(("http://", "https://", "tg://")):
                    raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
        clean = [[{k: v for k, v in b.items() if v is not None} for b in row] for row in rows]
        return {"inline_keyboard": clean}

    def _reply_to(self, chat: ChatState, params: dict[str, Any]) -> int | None:
        rp = params.get("reply_parameters")
        mid = rp.get("message_id") if isinstance(rp, dict) else params.get("reply_to_message_id")
        if mid is None:
            return None
        msg = chat.messages_by_id.get(mid) if isinstance(mid, int) else None
        if msg is None or msg.deleted:
            allow = isinstance(rp, dict) and rp.get("allow_sending_without_reply")
            if allow or params.get("allow_sending_without_reply"):
                return None
            raise _bad("message to be replied not found")
        return int(mid)

    def _message_json(self, chat: ChatState, msg: EmuMessage) -> dict[str, Any]:
        reply = chat.messages_by_id.get(msg.reply_to_message_id or 0)
        return msg.to_api(with_reply=reply)

    def _target_message(
        self, params: dict[str, Any], not_found: str
    ) -> tuple[ChatState, EmuMessage]:
        if params.get("inline_message_id"):
            raise _bad("inline messages are not emulated")
        chat = self._chat_for(params)
        mid = params.get("message_id")
        if mid is None:
            raise _bad("message identifier is not specified")
        msg = chat.messages_by_id.get(mid) if isinstance(mid, int) else None
        if msg is None or msg.deleted:
            raise _bad(not_found)
        return chat, msg

    # ---------------------------------------------------------------- methods

    async def _get_me(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        if self._webhook.get("url") or self._deliver_urls:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = _number(params, "offset", 0)
        limit = min(max(_number(params, "limit", 100), 1), 100)
        timeout = max(_number(params, "timeout", 0), 0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):  # persists for later calls, like Telegram
            self._allowed_updates = frozenset(allowed) if allowed else _DEFAULT_ALLOWED
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # an older poll must notice it was superseded
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            # Telegram never stores updates of types the bot did not ask for.
            self._pending = [u for u in self._pending if _update_type(u) in self._allowed_updates]
            if self._pending or self._closing or loop.time() >= deadline:
                return self._pending[:limit]
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), deadline - loop.time())

    async def _set_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        url = params.get("url") or ""
        if url and not str(url).startswith(("http://", "https://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        if not url:
            self._webhook = {}
        else:
            self._webhook = {
                "url": url,
                "secret_token": params.get("secret_token"),
                "max_connections": min(max(_number(params, "max_connections", 40), 1), 100),
            }
            if isinstance(params.get("allowed_updates"), list):
                self._allowed_updates = frozenset(params["allowed_updates"]) or _DEFAULT_ALLOWED
        self._poll_generation += 1  # a pending getUpdates ends with 409, like Telegram
        self._notify()
        return True

    async def _delete_webhook(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        self._webhook = {}
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _get_webhook_info(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        info: dict[str, Any] = {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook:
            info["max_connections"] = self._webhook["max_connections"]
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    async def _set_my_commands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands specified")
        clean = []
        for cmd in commands:
            name = str(cmd.get("command", "")) if isinstance(cmd, dict) else ""
            desc = str(cmd.get("description", "")) if isinstance(cmd, dict) else ""
            valid = 1 <= len(name) <= 32 and all(
                c.islower() or c.isdigit() or c == "_" for c in name
            )
            if not valid:
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(desc) <= 256:
                raise _bad("command description must be non-empty")
            clean.append({"command": name, "description": desc})
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self._commands[key] = clean
        return True

    async def _get_my_commands(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return self._commands.get(key, [])

    async def _delete_my_commands(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self._commands.pop(key, None)
        return True

    async def _send_message(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat = self._chat_for(params)
        text, entities = self._formatted(params)
        markup = self._markup(params, chat)
        reply_to = self._reply_to(chat, params)
        extra: dict[str, Any] = {
            k: params[k]
            for k in ("link_preview_options", "disable_notification", "message_thread_id")
            if k in params
        }
        msg = self._store_message(
            chat,
            self.bot_user,
            text,
            entities,
            reply_markup=markup,
            reply_to=reply_to,
            extra=extra,
        )
        return self._message_json(chat, msg)

    async def _edit_message_text(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        chat, msg = self._target_message(params, "message to edit not found")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        if msg.kind != "text":
            raise _bad("there is no text in the message to edit")
        text, entities = self._formatted(params)
        return self._apply_edit(chat, msg, text, entities, self._markup(params, None))

    def _apply_edit(
        self,
        chat: ChatState,
        msg: EmuMessage,
        text: str,
        entities: list[Entity],
        markup: dict[str, Any] | None,
    ) -> Any:
        """Telegram refuses an edit that changes nothing (entity order does not count)."""
        same_entities = sort_entities(entities) == sort_entities(msg.entities)
        if text == msg.text and same_entities and markup == msg.reply_markup:
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        msg.edits.append(msg.text)
        msg.text, msg.entities, msg.reply_markup = text, entities, markup
        msg.edit_date = self._now()
        return self._message_json(chat, msg)

    async def _edit_message_caption(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        chat, msg = self._target_message(params, "message to edit not found")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        if msg.kind == "text":
            raise _bad("there is no caption in the message to edit")
        text, entities = self._formatted(
            params, "caption", "caption_entities", limit=1024, required=False
        )
        return self._apply_edit(chat, msg, text, entities, self._markup(params, None))

    async def _edit_message_media(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        chat, msg = self._target_message(params, "message to edit not found")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        if msg.kind == "text":
            raise _bad("there is no media in the message to edit")
        media = params.get("media")
        kinds = ("photo", "document", "video", "animation", "audio")
        if not isinstance(media, dict) or media.get("type") not in kinds:
            raise _bad("can't parse InputMedia: media type is not specified or invalid")
        kind = str(media["type"])
        folder, ext = {"photo": ("photos", "jpg")}.get(kind, (kind + "s", "bin"))
        old_file_id = _first_file_id(msg.media)
        stored = self._input_file(media, files, "media", folder, ext)
        caption, entities = self._formatted(
            media, "caption", "caption_entities", limit=1024, required=False
        )
        markup = self._markup(params, None)
        same = (stored.file_id, caption, entities, markup) == (
            old_file_id,
            msg.text,
            msg.entities,
            msg.reply_markup,
        )
        if same:
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        msg.edits.append(msg.text)
        msg.kind, msg.media = kind, self._media_object(kind, stored)
        msg.text, msg.entities, msg.reply_markup = caption, entities, markup
        msg.edit_date = self._now()
        return self._message_json(chat, msg)

    async def _edit_message_reply_markup(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        chat, msg = self._target_message(params, "message to edit not found")
        if not msg.from_bot:
            raise _bad("message can't be edited")
        markup = self._markup(params, None)
        if markup == msg.reply_markup:
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        msg.reply_markup = markup
        msg.edit_date = self._now()
        return self._message_json(chat, msg)

    async def _delete_message(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        _chat, msg = self._target_message(params, "message to delete not found")
        msg.deleted = True
        return True

    async def _delete_messages(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat = self._chat_for(params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise _bad("message_ids must be a non-empty Array of at most 100 items")
        for mid in ids:
            msg = chat.messages_by_id.get(mid) if isinstance(mid, int) else None
            if msg is not None:
                msg.deleted = True
        return True

    async def _send_message_draft(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        chat = self._chat_for(params)
        if chat.type != "private":
            raise ApiError(400, DRAFT_PEER_INVALID)
        if not self.drafts_allowed:
            raise ApiError(*self.draft_refusal)
        draft_id = params.get("draft_id")
        if not isinstance(draft_id, int) or draft_id == 0:
            raise _bad("draft_id must be non-zero")
        # An empty draft is valid: clients show a "Thinking…" placeholder.
        text, entities = self._formatted(params, required=False)
        chat.drafts.append(Draft(chat.id, draft_id, text, entities))
        return True

    async def _send_chat_action(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        chat = self._chat_for(params)
        action = params.get("action")
        if not isinstance(action, str) or action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        chat.actions.append(ChatAction(chat.id, str(action)))
        return True

    async def _answer_callback_query(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        qid = str(params.get("callback_query_id") or "")
        if qid not in self._issued_queries or qid in self.callback_answers:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self.callback_answers[qid] = CallbackAnswer(
            qid,
            text=text,
            show_alert=bool(params.get("show_alert")),
            url=params.get("url"),
            cache_time=params.get("cache_time"),
        )
        return True

    async def _answer_inline_query(
        self, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        qid = str(params.get("inline_query_id") or "")
        if qid not in self._issued_queries or qid in self.inline_answers:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        results = params.get("results")
        if not isinstance(results, list) or len(results) > 50:
            raise _bad("RESULTS_TOO_MUCH" if isinstance(results, list) else "results is empty")
        self.inline_answers[qid] = InlineAnswer(qid, results, dict(params))
        return True

    def _media_sender(
        self, kind: str
    ) -> Callable[[dict[str, Any], dict[str, UploadedFile]], Awaitable[Any]]:
        folders = {"photo": ("photos", "jpg"), "document": ("documents", "bin")}
        folder, ext = folders.get(kind, (kind + "s", "bin"))

        async def send(params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
            chat = self._chat_for(params)
            stored = self._input_file(params, files, kind, folder, ext)
            caption, caption_entities = self._formatted(
                params, "caption", "caption_entities", limit=1024, required=False
            )
            markup = self._markup(params, chat)
            reply_to = self._reply_to(chat, params)
            msg = self._store_message(
                chat,
                self.bot_user,
                caption,
                caption_entities,
                kind=kind,
                media=self._media_object(kind, stored),
                reply_markup=markup,
                reply_to=reply_to,
            )
            return self._message_json(chat, msg)

        return send

    def _input_file(
        self,
        params: dict[str, Any],
        files: dict[str, UploadedFile],
        field_name: str,
        folder: str,
        ext: str,
    ) -> StoredFile:
        value = params.get(field_name)
        upload = files.get(field_name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
            if upload is None:
                raise _bad(f'can\'t find attached file "{value}"')
        if upload is not None:
            if not upload.data:
                raise _bad("file must be non-empty")
            if upload.filename and "." in upload.filename:
                ext = upload.filename.rsplit(".", 1)[1]
            return self._store_file(upload.data, folder, ext, upload.filename, upload.content_type)
        if not value:
            raise _bad(f"there is no {field_name} in the request")
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            raise _bad("failed to get HTTP URL content")  # the emulator has no internet either
        raise _bad("wrong file identifier/HTTP URL specified")

    async def _get_file(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        stored = self.files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def _get_chat(self, params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        chat = self._chat_for(params)
        return {
            **chat.chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
