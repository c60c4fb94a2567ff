"""ChatService: one user message in, one streamed answer out, in the context of the user's
active conversation. Plain inputs and outcomes, no Telegram: the caller supplies the output
sink (the bot wraps an AnswerStreamer) and turns failures into texts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol
from weakref import WeakValueDictionary

from app.bot.services.context import with_reply
from app.bot.services.conversations import ConversationKey, ConversationService
from app.bot.services.personas import PersonaService
from app.bot.services.titles import TitleService
from app.bot.services.tool_answer import answer_with_tools, turn_message, without_tool_turns
from app.bot.services.tools import ToolService
from app.llm import (
    Attachment,
    ChatMessage,
    LLMError,
    LLMProvider,
    StreamInterrupted,
    ensure_loaded,
)
from app.llm.access import Caller
from app.storage import Conversation, ConversationInfo, Storage, Turn, UserRecord
from app.storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

# Appended to the system prompt when tools are offered.
TOOLS_PROMPT = (
    " When you use web_search or read_url, cite the sources you used by their numbers in "
    "square brackets, like [1]."
)


SYSTEM_PROMPT = (
    "You are a helpful assistant chatting with the user in Telegram. Answer in the user's "
    "language. Use Markdown sparingly; Telegram shows bold, italic, code, links and lists."
)


@dataclass(frozen=True)
class ChatFailure:
    """Why no answer came: a model error, or (error None) an empty answer."""

    error: LLMError | None = None


class AnswerSink(Protocol):
    async def start(self) -> None: ...

    async def update(self, full_text_so_far: str) -> None: ...

    async def finish(self, final_text: str, *, cut_off: bool = False) -> Sequence[int] | None:
        """The final answer; ``cut_off``: the model's stream broke before the end. Returns
        the ids of the messages that show it, when the sink has them (stored on the turn,
        so replies to the answer find it)."""
        ...

    async def fail(self, failure: ChatFailure) -> None: ...


class ChatOutcome(StrEnum):
    ANSWERED = "answered"
    PARTIAL = "partial"
    FAILED = "failed"


@dataclass(frozen=True)
class ReplyContext:
    """The message the user replied to: quoted into the prompt, whoever wrote it."""

    text: str
    author: str | None = None  # a name; None when unknown
    from_bot: bool = False  # one of the bot's own answers
    forwarded_from: str | None = None  # the original author of a forwarded text


@dataclass(frozen=True)
class ChatRequest:
    user: UserRecord
    caller: Caller
    chat_id: int
    text: str
    attachments: Sequence[Attachment] = field(default_factory=tuple)
    thread_id: int = 0  # the forum topic: each topic is its own conversation
    message_id: int | None = None  # the user's Telegram message
    reply: ReplyContext | None = None


class ChatService:
    def __init__(
        self,
        storage: Storage,
        llm: LLMProvider,
        *,
        default_model: str,
        system_prompt: str = SYSTEM_PROMPT,
        personas: PersonaService | None = None,
        conversations: ConversationService | None = None,
        titles: TitleService | None = None,
        tools: ToolService | None = None,
    ) -> None:
        self._storage = storage
        self._llm = llm
        self._default_model = default_model
        # The prompt when the conversation's persona can't be read (database down).
        self._system_prompt = system_prompt
        self.personas = personas or PersonaService(storage)
        self.conversations = conversations or ConversationService(storage, self.personas)
        self.titles = titles or TitleService(storage, llm, enabled=False)
        self._tools = tools
        # One answer at a time per conversation, so a quick second message sees the first
        # exchange in its context and answers arrive in order.
        self._locks: WeakValueDictionary[tuple[int, int, int], asyncio.Lock] = WeakValueDictionary()

    def model_for(self, user: UserRecord, conversation: ConversationInfo | None = None) -> str:
        """The conversation's own model, else the user's default, else the bot's."""
        return (conversation.model if conversation else None) or user.model or self._default_model

    async def new_conversation(self, user_id: int, chat_id: int, thread_id: int = 0) -> None:
        await self.conversations.start_new(ConversationKey(user_id, chat_id, thread_id), None)

    async def answer(self, request: ChatRequest, sink: AnswerSink) -> ChatOutcome:
        key = (request.user.user_id, request.chat_id, request.thread_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            return await self._answer(request, sink)

    async def _answer(self, request: ChatRequest, sink: AnswerSink) -> ChatOutcome:
        user = request.user
        conversation = await self._load(request)
        model = self.model_for(user, conversation)
        system_prompt = await self._persona_prompt(conversation)
        history: list[ChatMessage] = [
            turn_message(t) for t in (conversation.turns if conversation else [])
        ]
        prompt = with_reply(request.text, request.reply)
        await sink.start()
        parts: list[str] = []
        tools = await self._tools.tools_for(request.caller, request.chat_id) if self._tools else []
        tool_turns: list[Turn] = []
        try:
            await ensure_loaded()  # the history trim below needs litellm's tokenizer
            if not tools:
                history = without_tool_turns(history)
            # The persona's prompt goes first in every call and is never trimmed away.
            history = self._llm.fit_history(model, system_prompt, history, prompt)
            if tools:
                run = await answer_with_tools(
                    self._llm,
                    prompt,
                    model,
                    system_message=system_prompt + TOOLS_PROMPT,
                    history=history,
                    attachments=request.attachments,
                    caller=request.caller,
                    tools=tools,
                    sink=sink,
                    counter=self._tools,
                )
                parts, tool_turns = [run.text], run.turns
            else:
                stream = self._llm.aquery_llm_stream(
                    prompt,
                    model,
                    system_message=system_prompt,
                    chat_history=history,
                    attachments=list(request.attachments) or None,
                    caller=request.caller,
                )
                async for chunk in stream:
                    parts.append(chunk)
                    await sink.update("".join(parts))
        except StreamInterrupted as exc:
            partial = exc.partial_text or "".join(parts)
            # Remember first: the model was paid for, even if Telegram then fails us.
            await self._remember(conversation, request, prompt, partial, model)
            await self._shown(conversation, await sink.finish(partial, cut_off=True))
            return ChatOutcome.PARTIAL
        except LLMError as exc:
            log.info("chat: model error for user %s: %s", user.user_id, exc.kind)
            await sink.fail(ChatFailure(exc))
            return ChatOutcome.FAILED
        answer = "".join(parts)
        if not answer.strip():
            await sink.fail(ChatFailure())
            return ChatOutcome.FAILED
        await self._remember(conversation, request, prompt, answer, model, tool_turns)
        await self._shown(conversation, await sink.finish(answer))
        if conversation is not None and not conversation.turns:
            await self.titles.after_first_exchange(
                conversation.id, request.text, answer, model, request.caller
            )
        return ChatOutcome.ANSWERED

    async def _load(self, request: ChatRequest) -> Conversation | None:
        key = ConversationKey(request.user.user_id, request.chat_id, request.thread_id)
        # A database outage must not cost the user their answer: answer without context.
        try:
            return await self.conversations.active(key, request.user.model)
        except StorageUnavailable:
            log.warning(
                "chat: conversation of user %s unavailable, answering without it",
                request.user.user_id,
            )
            return None

    async def _persona_prompt(self, conversation: Conversation | None) -> str:
        if conversation is None:
            return self._system_prompt
        try:
            return (await self.personas.resolve(conversation.persona)).prompt
        except StorageUnavailable:
            return self._system_prompt

    async def _remember(
        self,
        conversation: Conversation | None,
        request: ChatRequest,
        prompt: str,
        answer: str,
        model: str,
        tool_turns: Sequence[Turn] = (),
    ) -> None:
        if conversation is None:
            return
        user_text = prompt
        if request.attachments:
            user_text = f"[image] {user_text}".strip()
        turns = [
            Turn(
                role="user",
                content=user_text,
                message_ids=[request.message_id] if request.message_id else [],
            ),
            *tool_turns,  # the tool calls and results the answer came from
            Turn(role="assistant", content=answer, model=model),
        ]
        try:
            await self._storage.conversations.append(conversation.id, turns)
        except StorageUnavailable:
            log.warning("chat: could not save the exchange in %s", conversation.id)

    async def _shown(
        self, conversation: Conversation | None, message_ids: Sequence[int] | None
    ) -> None:
        if conversation is None or not message_ids:
            return
        try:
            await self._storage.conversations.set_message_ids(conversation.id, message_ids)
        except StorageUnavailable:
            log.warning("chat: could not link the answer's messages in %s", conversation.id)
