"""TelegramEmulator builds the parts (state, method table, executor, HTTP front, faults, call
log, webhook delivery; see the package docstring), starts and stops them, and holds the test API.
"""
# ruff: noqa: ASYNC109  -- `timeout=` on wait helpers is the test-facing API, on purpose

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from .calllog import CallLog
from .chats import ChatState
from .executor import ApiExecutor, Envelope
from .faults import FaultInjector
from .http_front import HttpFront
from .kept import Kept
from .methods import MethodTable, default_table
from .models import (
    ApiCall,
    CallbackAnswer,
    Draft,
    EmuMessage,
    FaultRule,
    FloodLimits,
    GuestQuery,
    InlineAnswer,
    InlineMessage,
    StoredFile,
    WebhookDelivery,
)
from .state import BotProfile, EmulatorState
from .users import SimGroup, SimUser
from .webhook import WebhookPusher
from .wire import DRAFT_PEER_INVALID, RICH_PARSE_FAILED, UploadedFile, scope_key


class TelegramEmulator:
    """Bot API emulator: ``async with TelegramEmulator() as emu:``, or ``fixtures``.

    Knobs are plain attributes, changeable mid-test: ``drafts_allowed``, ``draft_refusal``
    (code, description), ``flood_limits`` (None = off), ``strict_html``, ``privacy_mode``,
    ``rich_messages`` (False: a server before Bot API 10.1, see ``methods.rich``).
    """

    token = Kept[str]("state.bot.token")
    bot_id = Kept[int]("state.bot.id")  # read-only
    bot_username = Kept[str]("state.bot.username")
    bot_first_name = Kept[str]("state.bot.first_name")
    privacy_mode = Kept[bool]("state.bot.privacy_mode")
    strict_html = Kept[bool]("state.behaviour.strict_html")
    drafts_allowed = Kept[bool]("state.behaviour.drafts_allowed")
    draft_refusal = Kept[tuple[int, str]]("state.behaviour.draft_refusal")
    rich_messages = Kept[bool]("state.behaviour.rich_messages")  # False: an old server
    files = Kept[dict[str, StoredFile]]("state.files.by_id")
    callback_answers = Kept[dict[str, CallbackAnswer]]("state.queries.callback_answers")
    inline_answers = Kept[dict[str, InlineAnswer]]("state.queries.inline_answers")
    inline_messages = Kept[dict[str, InlineMessage]]("state.inline.by_id")
    guest_queries = Kept[dict[str, GuestQuery]]("state.queries.guest_queries")
    inline_feedback = Kept[bool]("state.behaviour.inline_feedback")
    flood_limits = Kept[FloodLimits | None]("faults.flood.limits")
    flood_429_count = Kept[int]("faults.flood.hits")  # 429s from the limiter only
    flood_events = Kept[list[tuple[str, int | None, int]]]("faults.flood.events")
    errors = Kept[list[str]]("log.errors")  # internal errors, served as 500
    unknown_methods = Kept[list[str]]("log.unknown_methods")  # 404s served
    webhook_deliveries = Kept[list[WebhookDelivery]]("webhook.deliveries")

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
        rich_messages: bool = True,
    ) -> None:
        self.state = EmulatorState(BotProfile(token, bot_username, bot_first_name, privacy_mode))
        self.state.behaviour.strict_html = strict_html
        self.state.behaviour.rich_messages = rich_messages
        self.methods: MethodTable = default_table()
        self.faults = FaultInjector(flood_limits)
        self.log = CallLog()
        self.executor = ApiExecutor(self.state, self.methods, self.faults, self.log)
        self.http = HttpFront(token, self.executor.execute, self.state.files)
        self.webhook = WebhookPusher(self.state.updates, self.state.changes, self.execute)
        self.host, self._port = host, port
        self.base_url = ""
        self._users: dict[int, SimUser] = {}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> TelegramEmulator:
        self.base_url = await self.http.start(self.host, self._port)
        self.webhook.start()
        return self

    async def stop(self) -> None:
        self.state.updates.closed = True
        self.state.changes.notify()  # long polls return [] at once instead of holding shutdown
        await self.webhook.stop()
        await self.http.stop()

    async def __aenter__(self) -> TelegramEmulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------ people, chats

    @property
    def bot_user(self) -> dict[str, Any]:
        return self.state.bot.as_user()

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
        if id not in self._users:
            self.state.chats.add_private(id, first_name, username, last_name)
            self._users[id] = SimUser(
                self, id, first_name, username, language_code, last_name, is_premium
            )
        return self._users[id]

    def group(
        self,
        id: int = -1001234567890,
        title: str = "Test group",
        *,
        username: str | None = None,
        forum: bool = False,
    ) -> SimGroup:
        """A supergroup the bot is a member of (ids of groups are negative). ``forum``: a
        forum supergroup; users post into its topics with ``send_in(..., thread_id=N)``."""
        if id >= 0:
            raise ValueError("group ids are negative in Telegram")
        chat = self.state.chats.add_group(id, title, username)
        if forum:
            chat.chat["is_forum"] = True
        return SimGroup(self, id, title)

    def chat(self, chat_id: int) -> ChatState:
        return self.state.chats.get(chat_id)

    def drafts(self, chat_id: int) -> list[Draft]:
        return list(self.chat(chat_id).drafts)

    def file(self, file_id: str) -> StoredFile:
        return self.state.files.by_id[file_id]

    def commands(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]] | None:
        """Commands stored by setMyCommands for that scope/language (None if never set)."""
        return self.state.commands.get((scope_key(scope), language_code or ""))

    # ------------------------------------------------------------------ the call log

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
        return self.log.select(
            method, chat_id=chat_id, ok=ok, since=since, skip_polling=skip_polling
        )

    def call_counts(self, *, since: int = 0, skip_polling: bool = True) -> dict[str, int]:
        """Calls per method name (as the client spelled it) since a :meth:`mark`, e.g.
        ``{"sendRichMessageDraft": 7, "sendRichMessage": 1}``: Telegram calls per answer."""
        return self.log.counts(since=since, skip_polling=skip_polling)

    def mark(self) -> int:
        """A position in the call log for ``calls(since=...)``."""
        return len(self.log.entries)

    @property
    def served_429(self) -> int:
        """All 429 answers served: injected by fail_next and from the flood limiter."""
        return sum(1 for c in self.log.entries if c.status == 429)

    @property
    def generic_calls(self) -> list[ApiCall]:
        """Calls to real Bot API methods the emulator accepted without emulating them."""
        return self.executor.generic_calls()

    async def execute(
        self, method: str, params: dict[str, Any], files: dict[str, UploadedFile] | None = None
    ) -> Envelope:
        """Run one API method as if the bot called it; returns (HTTP status, JSON envelope)."""
        return await self.executor.execute(method, params, files)

    # ------------------------------------------------------------------ faults

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
        return self.faults.add(
            method,
            code,
            retry_after=retry_after,
            description=description,
            times=times,
            when=when,
            delay=delay,
        )

    def lose_response_next(
        self,
        method: str,
        *,
        times: int | None = 1,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> FaultRule:
        """Handle the next ``times`` matching calls, then drop the connection instead of
        answering: the call took effect (a message was delivered) but the bot gets a
        network error, as when a response is lost on the way."""
        return self.faults.lose_next(method, times=times, when=when)

    def fail_next_rich(
        self,
        code: int = 400,
        *,
        description: str = RICH_PARSE_FAILED,
        times: int | None = 1,
        drafts: bool = False,
    ) -> FaultRule:
        """Fail the next ``times`` rich sends: sendRichMessage and editMessageText with
        ``rich_message`` (and sendRichMessageDraft with ``drafts``), to exercise a resend."""

        def is_rich_send(params: dict[str, Any]) -> bool:
            if params.get("rich_message") is None:
                return False
            return drafts or "draft_id" not in params

        return self.faults.add("*", code, description=description, times=times, when=is_rich_send)

    def clear_faults(self) -> None:
        self.faults.clear()

    def refuse_drafts(self, code: int = 400, description: str = DRAFT_PEER_INVALID) -> None:
        """Make every sendMessageDraft fail, to exercise the send+edit fallback."""
        self.drafts_allowed = False
        self.draft_refusal = (code, description)

    # ------------------------------------------------------------------ updates

    def enqueue_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update (``update_id`` is assigned); returns the full update."""
        return self.state.updates.enqueue(payload)

    @property
    def pending_updates(self) -> int:
        return self.state.updates.count

    def issue_query_id(self, qid: str | None = None) -> str:
        """Make a callback/inline query id valid for answering (Telegram rejects answers to
        ids it never issued). Needed only for updates a test feeds to the dispatcher itself."""
        return self.state.queries.issue(qid)

    def press_stop(self, chat_id: int, draft_id: int | None = None) -> dict[str, Any]:
        """The user presses the native Stop on the draft the chat shows now (its id must be
        ``draft_id`` when given): queues a ``stopped_message_generation`` update and returns
        it. The draft disappears unless it was sent with ``keep_on_stop``. Raises
        AssertionError when no draft is shown or it was sent without ``can_stop=True``."""
        chat = self.chat(chat_id)
        draft = chat.current_draft
        if draft is None:
            raise AssertionError(f"chat {chat_id} shows no draft to stop")
        if draft_id is not None and draft.draft_id != draft_id:
            raise AssertionError(f"chat {chat_id} shows draft {draft.draft_id}, not {draft_id}")
        if not draft.can_stop:
            raise AssertionError(
                f"draft {draft.draft_id} in chat {chat_id} was sent without can_stop=True: "
                "the user sees no Stop button"
            )
        draft.stopped = True
        if not draft.keep_on_stop:
            chat.drafts_shown_until = len(chat.drafts)
        stopped: dict[str, Any] = {"chat": dict(chat.chat), "draft_id": draft.draft_id}
        if draft.message_thread_id is not None:
            stopped["message_thread_id"] = draft.message_thread_id
        return self.enqueue_update({"stopped_message_generation": stopped})

    def deliver_to(self, urls: Iterable[str], secret_token: str | None = None) -> None:
        """Deliver updates by webhook POSTs round-robin over ``urls`` (empty list: stop).

        Overrides the URL set by setWebhook; ``secret_token`` defaults to setWebhook's.
        """
        setting = self.state.updates.webhook
        setting.override_urls, setting.override_secret = list(urls), secret_token
        self.state.changes.notify()

    # ------------------------------------------------------------------ waiting

    async def wait_until(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every emulator event)."""
        return await self.state.changes.until(predicate, timeout)

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

        try:
            found: EmuMessage = await self.wait_until(
                lambda: chat.bot_message_after(floor, predicate), timeout
            )
        except TimeoutError:
            seen = [(m.message_id, m.text[:80]) for m in chat.messages]
            raise TimeoutError(
                f"no matching bot message in chat {chat_id} after id {floor} within "
                f"{timeout}s; chat has {seen}"
            ) from None
        return found

    async def wait_quiet(self, quiet: float = 0.2, timeout: float = 10.0) -> None:
        """Wait until all updates were fetched and no bot API call (getUpdates aside) was
        running for ``quiet`` s. A handler busy elsewhere (e.g. a slow model) looks quiet,
        so prefer wait_for_message/wait_until when the expected outcome is known."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if not self.pending_updates and self.log.idle_for(quiet):
                return
            await asyncio.sleep(0.02)
        raise TimeoutError(f"bot still busy after {timeout}s")
