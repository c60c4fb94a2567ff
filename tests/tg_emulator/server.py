"""An in-process Telegram Bot API emulator served over real HTTP on 127.0.0.1.

The real aiogram ``Bot`` talks to it through ``TelegramAPIServer.from_base(emu.base_url)``.
Answers use Telegram's JSON envelope and wording, so aiogram raises its real exceptions.
The test side (users, groups, observation helpers) lives in :mod:`.users` and on this class;
method handlers are in :mod:`.methods`, webhook delivery in :mod:`.webhook`.
"""
# ruff: noqa: ASYNC109  -- `timeout=` on wait helpers is the test-facing API, on purpose

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import secrets
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import ClientSession, ClientTimeout, web

from .formatting import (
    Entity,
)
from .methods import BotApiMethods
from .models import (
    ApiCall,
    CallbackAnswer,
    Draft,
    EmuMessage,
    FaultRule,
    FloodLimits,
    InlineAnswer,
    StoredFile,
    WebhookDelivery,
)
from .state import ChatState, _Bucket
from .webhook import WebhookMixin
from .wire import (
    _AIOGRAM_METHODS,
    _DEFAULT_ALLOWED,
    _MESSAGE_OPS,
    DRAFT_PEER_INVALID,
    ApiError,
    UploadedFile,
    _default_description,
    _envelope_error,
    _read_params,
    _scope_key,
)

if TYPE_CHECKING:
    from .users import SimGroup, SimUser

log = logging.getLogger("tg_emulator")


class TelegramEmulator(BotApiMethods, WebhookMixin):
    """Bot API emulator. Use as ``async with TelegramEmulator() as emu:``.

    Configuration knobs are plain attributes, changeable mid-test: ``drafts_allowed``,
    ``draft_refusal`` (code, description), ``flood_limits`` (None = off), ``strict_html``.
    """

    def __init__(
        self,
        token: str = "123456789:TEST-token",
        *,
        bot_username: str = "test_llm_bot",
        bot_first_name: str = "Test LLM Bot",
        host: str = "127.0.0.1",
        port: int = 0,
        flood_limits: FloodLimits | None = None,
        strict_html: bool = False,
        privacy_mode: bool = True,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.host, self._port = host, port
        self.flood_limits = flood_limits
        self.strict_html = strict_html
        # Group privacy mode (Telegram's default for bots): in groups the bot only gets
        # commands, mentions of itself and replies to its messages.
        self.privacy_mode = privacy_mode
        self.drafts_allowed = True
        self.draft_refusal: tuple[int, str] = (400, DRAFT_PEER_INVALID)

        self.errors: list[str] = []  # emulator-internal exceptions (served as 500)
        self.unknown_methods: list[str] = []  # 404s served
        self.flood_429_count = 0
        self.flood_events: list[tuple[str, int | None, int]] = []  # (method, chat, retry_after)
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.files: dict[str, StoredFile] = {}
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.inline_answers: dict[str, InlineAnswer] = {}

        self._calls: list[ApiCall] = []
        self._chats: dict[int, ChatState] = {}
        self._users: dict[int, SimUser] = {}
        self._faults: list[FaultRule] = []
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._pending: list[dict[str, Any]] = []
        self._update_ids = itertools.count(100_001)
        self._ids = itertools.count(1)
        self._allowed_updates: frozenset[str] = _DEFAULT_ALLOWED
        self._poll_generation = 0
        self._issued_queries: set[str] = set()
        self._webhook: dict[str, Any] = {}
        self._deliver_urls: list[str] = []
        self._deliver_secret: str | None = None
        self._rr = 0
        self._buckets: dict[Any, _Bucket] = {}
        self._closing = False
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._client: ClientSession | None = None
        self._delivery_task: asyncio.Task[None] | None = None
        self._delivery_tasks: set[asyncio.Task[None]] = set()
        self._inflight: set[int] = set()
        self._active_calls = 0
        self._last_activity = 0.0
        self.base_url = ""
        self._handlers: dict[
            str, Callable[[dict[str, Any], dict[str, UploadedFile]], Awaitable[Any]]
        ]
        self._handlers = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "editmessagecaption": self._edit_message_caption,
            "editmessagemedia": self._edit_message_media,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "sendmessagedraft": self._send_message_draft,
            "sendchataction": self._send_chat_action,
            "answercallbackquery": self._answer_callback_query,
            "answerinlinequery": self._answer_inline_query,
            "sendphoto": self._media_sender("photo"),
            "senddocument": self._media_sender("document"),
            "sendvoice": self._media_sender("voice"),
            "sendsticker": self._media_sender("sticker"),
            "getfile": self._get_file,
            "getchat": self._get_chat,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> TelegramEmulator:
        self._changed = asyncio.Event()  # bind to the running loop
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._http_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._http_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port)
        await site.start()
        port = self._runner.addresses[0][1]  # the port the OS picked for port 0
        self.base_url = f"http://{self.host}:{port}"
        self._client = ClientSession(timeout=ClientTimeout(total=30))
        self._delivery_task = asyncio.create_task(self._delivery_loop(), name="tg-emu-webhook")
        return self

    async def stop(self) -> None:
        self._closing = True
        self._notify()  # long polls return [] at once instead of holding shutdown
        tasks = [t for t in (self._delivery_task, *self._delivery_tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramEmulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------- test-side API

    def user(
        self,
        id: int,
        first_name: str = "User",
        username: str | None = None,
        language_code: str | None = "en",
        *,
        last_name: str | None = None,
        is_premium: bool = False,
    ) -> SimUser:
        """A simulated Telegram user (created once per id) with its private chat."""
        from .users import SimUser

        if id in self._users:
            return self._users[id]
        user = SimUser(self, id, first_name, username, language_code, last_name, is_premium)
        self._users[id] = user
        chat = {"id": id, "type": "private", "first_name": first_name}
        if username:
            chat["username"] = username
        if last_name:
            chat["last_name"] = last_name
        self._chats[id] = ChatState(chat=chat)
        return user

    def group(
        self, id: int = -1001234567890, title: str = "Test group", *, username: str | None = None
    ) -> SimGroup:
        """A supergroup the bot is a member of (ids of groups are negative)."""
        from .users import SimGroup

        if id >= 0:
            raise ValueError("group ids are negative in Telegram")
        chat: dict[str, Any] = {"id": id, "type": "supergroup", "title": title}
        if username:
            chat["username"] = username
        self._chats.setdefault(id, ChatState(chat=chat))
        return SimGroup(self, id, title)

    def chat(self, chat_id: int) -> ChatState:
        try:
            return self._chats[chat_id]
        except KeyError:
            raise KeyError(
                f"emulator knows no chat {chat_id}; create it with user()/group()"
            ) from None

    def drafts(self, chat_id: int) -> list[Draft]:
        return list(self.chat(chat_id).drafts)

    def calls(
        self,
        method: str | None = None,
        *,
        chat_id: int | None = None,
        ok: bool | None = None,
        since: int = 0,
        skip_polling: bool = False,
    ) -> list[ApiCall]:
        """Logged API calls, oldest first; ``method`` is case-insensitive.

        ``since`` is a value from :meth:`mark`, to count the calls one answer cost;
        ``skip_polling`` leaves out getUpdates.
        """
        return [
            c
            for c in self._calls[since:]
            if not (skip_polling and c.method.lower() == "getupdates")
            and (method is None or c.method.lower() == method.lower())
            and (chat_id is None or c.params.get("chat_id") == chat_id)
            and (ok is None or c.ok == ok)
        ]

    @property
    def served_429(self) -> int:
        """All 429 answers served: injected by fail_next and from the flood limiter."""
        return sum(1 for c in self._calls if c.status == 429)

    def mark(self) -> int:
        """A position in the call log for ``calls(since=...)``."""
        return len(self._calls)

    @property
    def generic_calls(self) -> list[ApiCall]:
        """Calls to real Bot API methods the emulator accepted without emulating them."""
        return [c for c in self._calls if c.method.lower() not in self._handlers and c.ok]

    def commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]] | None:
        """Commands stored by setMyCommands for that scope/language (None if never set)."""
        return self._commands.get((_scope_key(scope), language_code or ""))

    def fail_next(
        self,
        method: str = "*",
        code: int | None = 429,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        times: int | None = 1,
        when: Callable[[dict[str, Any]], bool] | None = None,
        delay: float = 0.0,
    ) -> FaultRule:
        """Serve an error for the next ``times`` matching calls (None: until cleared).

        ``code=None`` only delays the call by ``delay`` seconds (slow Telegram).

        ``when`` is a predicate over the decoded params (e.g. ``lambda p: p["chat_id"] == 5``).
        429 defaults to ``retry_after=1`` and Telegram's "Too Many Requests" wording.
        """
        if code == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = _default_description(code, retry_after)
        remaining = sys.maxsize if times is None else times
        rule = FaultRule(method.lower(), code, description, retry_after, remaining, when, delay)
        self._faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        self._faults.clear()

    def refuse_drafts(self, code: int = 400, description: str = DRAFT_PEER_INVALID) -> None:
        """Make every sendMessageDraft fail, to exercise the send+edit fallback."""
        self.drafts_allowed = False
        self.draft_refusal = (code, description)

    def deliver_to(self, urls: Iterable[str], secret_token: str | None = None) -> None:
        """Deliver updates by webhook POSTs round-robin over ``urls`` (empty list: stop).

        Overrides the URL set by setWebhook; ``secret_token`` defaults to setWebhook's.
        """
        self._deliver_urls = list(urls)
        self._deliver_secret = secret_token
        self._notify()

    def enqueue_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update (``update_id`` is assigned); returns the full update."""
        update = {"update_id": next(self._update_ids), **payload}
        self._pending.append(update)
        self._notify()
        return update

    @property
    def pending_updates(self) -> int:
        return len(self._pending) + len(self._inflight)

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every emulator event)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            event = self._changed
            with contextlib.suppress(TimeoutError):
                # the periodic re-check covers time-based predicates
                await asyncio.wait_for(event.wait(), min(remaining, 0.05))

    async def wait_for_message(
        self,
        chat_id: int,
        predicate: Callable[[EmuMessage], bool] | None = None,
        timeout: float = 10.0,
        *,
        after: int | None = None,
    ) -> EmuMessage:
        """First visible bot message in the chat newer than ``after`` matching ``predicate``.

        ``after`` defaults to the id of the last message a simulated user sent there, so
        ``await u.send("hi"); await emu.wait_for_message(u.id)`` yields the reply. The
        predicate sees the message's current state, so it can wait for an edit to land.
        """
        chat = self.chat(chat_id)
        floor = chat.last_user_message_id if after is None else after

        def find() -> EmuMessage | None:
            for msg in chat.bot_messages:
                if msg.message_id > floor and (predicate is None or predicate(msg)):
                    return msg
            return None

        try:
            result: EmuMessage = await self.wait_until(find, timeout)
        except TimeoutError:
            seen = [(m.message_id, m.text[:80]) for m in chat.messages]
            raise TimeoutError(
                f"no matching bot message in chat {chat_id} after id {floor} within "
                f"{timeout}s; chat has {seen}"
            ) from None
        return result

    async def wait_quiet(self, quiet: float = 0.2, timeout: float = 10.0) -> None:
        """Wait until all updates were fetched and no bot API call (getUpdates aside) was
        running for ``quiet`` s. A handler busy elsewhere (e.g. a slow model) looks quiet,
        so prefer wait_for_message/wait_until when the expected outcome is known."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            idle = time.monotonic() - self._last_activity >= quiet
            if not self.pending_updates and not self._active_calls and idle:
                return
            await asyncio.sleep(0.02)
        raise TimeoutError(f"bot still busy after {timeout}s")

    def file(self, file_id: str) -> StoredFile:
        return self.files[file_id]

    # ----------------------------------------------------- used by users.py

    def _next_id(self) -> int:
        return next(self._ids)

    def _notify(self) -> None:
        """Wake every waiter (long polls, wait_until, delivery loop)."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _now(self) -> int:
        return int(time.time())

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _bot_sees(self, chat: ChatState, msg: EmuMessage) -> bool:
        """Whether privacy mode lets a group message reach the bot."""
        if chat.type == "private" or not self.privacy_mode:
            return True
        if msg.text.startswith("/"):
            return True
        mention = f"@{self.bot_username}".lower()
        if any(t == "mention" and s.lower() == mention for t, s in msg.entity_texts()):
            return True
        replied = chat.messages_by_id.get(msg.reply_to_message_id or 0)
        return replied is not None and replied.from_bot

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
    ) -> EmuMessage:
        msg = EmuMessage(
            message_id=chat.next_message_id,
            chat=dict(chat.chat),
            from_user=dict(from_user),
            date=self._now(),
            text=text,
            entities=list(entities or []),
            reply_markup=reply_markup,
            kind=kind,
            media=media,
            reply_to_message_id=reply_to,
            extra=dict(extra or {}),
        )
        chat.next_message_id += 1
        chat.messages_by_id[msg.message_id] = msg
        if msg.from_bot:
            chat.drafts_shown_until = len(chat.drafts)  # a sent message replaces the draft
        else:
            chat.last_user_message_id = msg.message_id
        self._notify()
        return msg

    def _store_file(
        self, data: bytes, folder: str, ext: str, filename: str | None, mime: str | None
    ) -> StoredFile:
        n = self._next_id()
        stored = StoredFile(
            file_id=f"EMU{folder[:3].upper()}{n}_{secrets.token_hex(6)}",
            file_unique_id=f"U{n}{secrets.token_hex(3)}",
            file_path=f"{folder}/file_{n}.{ext}",
            data=data,
            filename=filename,
            mime_type=mime,
        )
        self.files[stored.file_id] = stored
        return stored

    def _media_object(self, kind: str, stored: StoredFile, **extra: Any) -> Any:
        base = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if kind == "photo":
            # Telegram sends several sizes; the emulator serves the same bytes for each.
            return [
                {**base, "width": 90, "height": 90},
                {**base, "width": extra.get("width", 1280), "height": extra.get("height", 960)},
            ]
        if kind == "document":
            return {**base, "file_name": stored.filename, "mime_type": stored.mime_type}
        if kind == "voice":
            return {**base, "duration": extra.get("duration", 1), "mime_type": "audio/ogg"}
        if kind == "sticker":
            return {
                **base,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": extra.get("emoji", "👍"),
            }
        return base

    def issue_query_id(self, qid: str | None = None) -> str:
        """Make a callback/inline query id valid for answering (Telegram rejects answers to
        ids it never issued). Needed only for updates a test feeds to the dispatcher itself."""
        qid = qid or str(self._next_id() * 1_000_003 + secrets.randbelow(1000))
        self._issued_queries.add(qid)
        return qid

    # ------------------------------------------------------------------- HTTP

    async def _http_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return _envelope_error(401, "Unauthorized")
        try:
            params, files = await _read_params(request)
        except Exception as exc:  # a malformed body is the client's fault: 400, not a crash
            return _envelope_error(400, f"Bad Request: can't parse request body: {exc}")
        status, body = await self.execute(method, params, files)
        return web.json_response(body, status=status)

    async def execute(
        self,
        method: str,
        params: dict[str, Any],
        files: dict[str, UploadedFile] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Run one API method; returns (HTTP status, JSON envelope). Logged like HTTP calls."""
        # Track bot activity (not the idle long poll) for wait_quiet().
        polling = method.lower() == "getupdates"
        if not polling:
            self._active_calls += 1
            self._last_activity = time.monotonic()
        try:
            return await self._execute(method, params, files)
        finally:
            if not polling:
                self._active_calls -= 1
                self._last_activity = time.monotonic()

    async def _execute(
        self, method: str, params: dict[str, Any], files: dict[str, UploadedFile] | None
    ) -> tuple[int, dict[str, Any]]:
        files = files or {}
        call = ApiCall(
            method=method,
            params=params,
            time=time.monotonic(),
            files={k: v.filename or k for k, v in files.items()},
        )
        self._calls.append(call)
        lname = method.lower()
        try:
            for rule in self._faults:
                if rule.matches(method, params):
                    rule.remaining -= 1
                    rule.hits += 1
                    if rule.delay:
                        await asyncio.sleep(rule.delay)
                    if rule.code is not None:
                        call.injected = True
                        raise ApiError(rule.code, rule.description, rule.retry_after)
                    break
            handler = self._handlers.get(lname)
            if handler is None:
                cls = _AIOGRAM_METHODS.get(lname)
                if cls is None:
                    self.unknown_methods.append(method)
                    raise ApiError(404, "Not Found")
                if cls.__returning__ is not bool:
                    raise ApiError(
                        501, f"Internal Server Error: emulator does not implement {method}"
                    )
                result: Any = True
            else:
                self._check_flood(lname, params)
                result = await handler(params, files)
        except ApiError as exc:
            call.status, call.description = exc.code, exc.description
            body: dict[str, Any] = {
                "ok": False,
                "error_code": exc.code,
                "description": exc.description,
            }
            if exc.retry_after is not None:
                body["parameters"] = {"retry_after": exc.retry_after}
            self._notify()
            return exc.code, body
        except Exception as exc:  # never crash the server: report it to the test instead
            text = f"{method}: {exc!r}\n{traceback.format_exc()}"
            self.errors.append(text)
            log.error("emulator error in %s", text)
            call.status, call.description = 500, f"Internal Server Error: {exc!r}"
            self._notify()
            return 500, {"ok": False, "error_code": 500, "description": call.description}
        call.status, call.ok, call.result = 200, True, result
        self._notify()
        return 200, {"ok": True, "result": result}

    async def _http_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _envelope_error(401, "Unauthorized")
        path = request.match_info["path"]
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(body=stored.data, content_type="application/octet-stream")
        return _envelope_error(404, "Not Found")

    # ------------------------------------------------------------ flood limits

    def _check_flood(self, lname: str, params: dict[str, Any]) -> None:
        limits = self.flood_limits
        if limits is None:
            return
        if lname not in _MESSAGE_OPS and not (lname == "sendmessagedraft" and limits.count_drafts):
            return
        chat_id = params.get("chat_id")
        key = ("chat", chat_id)
        if key not in self._buckets:
            is_group = isinstance(chat_id, int) and chat_id < 0
            rate = limits.group_per_minute / 60 if is_group else limits.per_chat_rate
            self._buckets[key] = _Bucket(rate, limits.per_chat_burst)
        if "global" not in self._buckets:
            self._buckets["global"] = _Bucket(limits.global_rate, limits.global_burst)
        chat_bucket, global_bucket = self._buckets[key], self._buckets["global"]
        now = time.monotonic()
        wait = max(chat_bucket.wait_time(now), global_bucket.wait_time(now))
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            self.flood_429_count += 1
            self.flood_events.append((lname, chat_id, retry_after))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        chat_bucket.take()
        global_bucket.take()
