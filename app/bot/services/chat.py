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
from app.storage import Storage, Turn, UserRecord
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

    async def finish(self, final_text: str, *, cut_off: bool = False) -> None:
        """The final answer; ``cut_off``: the model's stream broke before the end."""
        ...

    async def fail(self, failure: ChatFailure) -> None: ...


class ChatOutcome(StrEnum):
    ANSWERED = "answered"
    PARTIAL = "partial"
    FAILED = "failed"


@dataclass(frozen=True)
class ChatRequest:
    user: UserRecord
    caller: Caller
    chat_id: int
    text: str
    attachments: Sequence[Attachment] = field(default_factory=tuple)


class ChatService:
    def __init__(
        self,
        storage: Storage,
        llm: LLMProvider,
        *,
        default_model: str,
        system_prompt: str = SYSTEM_PROMPT,
        tools: ToolService | None = None,
    ) -> None:
        self._storage = storage
        self._llm = llm
        self._default_model = default_model
        self._system_prompt = system_prompt
        self._tools = tools
        # One answer at a time per conversation, so a quick second message sees the first
        # exchange in its context and answers arrive in order.
        self._locks: WeakValueDictionary[tuple[int, int], asyncio.Lock] = WeakValueDictionary()

    def model_for(self, user: UserRecord) -> str:
        return user.model or self._default_model

    async def new_conversation(self, user_id: int, chat_id: int) -> None:
        await self._storage.conversations.start_new(user_id, chat_id)

    async def answer(self, request: ChatRequest, sink: AnswerSink) -> ChatOutcome:
        key = (request.user.user_id, request.chat_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            return await self._answer(request, sink)

    async def _answer(self, request: ChatRequest, sink: AnswerSink) -> ChatOutcome:
        user = request.user
        model = self.model_for(user)
        conversation_id, history = await self._load_history(user.user_id, request.chat_id)
        await sink.start()
        parts: list[str] = []
        tools = await self._tools.tools_for(request.caller, request.chat_id) if self._tools else []
        tool_turns: list[Turn] = []
        try:
            await ensure_loaded()  # the history trim below needs litellm's tokenizer
            if not tools:
                history = without_tool_turns(history)
            history = self._llm.fit_history(model, self._system_prompt, history, request.text)
            if tools:
                run = await answer_with_tools(
                    self._llm,
                    request.text,
                    model,
                    system_message=self._system_prompt + TOOLS_PROMPT,
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
                    request.text,
                    model,
                    system_message=self._system_prompt,
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
            await self._remember(conversation_id, request, partial, model)
            await sink.finish(partial, cut_off=True)
            return ChatOutcome.PARTIAL
        except LLMError as exc:
            log.info("chat: model error for user %s: %s", user.user_id, exc.kind)
            await sink.fail(ChatFailure(exc))
            return ChatOutcome.FAILED
        answer = "".join(parts)
        if not answer.strip():
            await sink.fail(ChatFailure())
            return ChatOutcome.FAILED
        await self._remember(conversation_id, request, answer, model, tool_turns)
        await sink.finish(answer)
        return ChatOutcome.ANSWERED

    async def _load_history(
        self, user_id: int, chat_id: int
    ) -> tuple[str | None, list[ChatMessage]]:
        # A database outage must not cost the user their answer: answer without context.
        try:
            conversation = await self._storage.conversations.active(user_id, chat_id)
        except StorageUnavailable:
            log.warning("chat: conversation of user %s unavailable, answering without it", user_id)
            return None, []
        return conversation.id, [turn_message(t) for t in conversation.turns]

    async def _remember(
        self,
        conversation_id: str | None,
        request: ChatRequest,
        answer: str,
        model: str,
        tool_turns: Sequence[Turn] = (),
    ) -> None:
        if conversation_id is None:
            return
        user_text = request.text
        if request.attachments:
            user_text = f"[image] {user_text}".strip()
        turns = [
            Turn(role="user", content=user_text),
            *tool_turns,  # the tool calls and results the answer came from
            Turn(role="assistant", content=answer, model=model),
        ]
        try:
            await self._storage.conversations.append(conversation_id, turns)
        except StorageUnavailable:
            log.warning("chat: could not save the exchange in %s", conversation_id)
