"""What one chat answer is made of, without Telegram: the user's request, the job of one
model call (a new answer, or a regenerated or continued one), the sink the answer streams
into, and how it ended. ``ChatService`` runs jobs; the bot supplies the sinks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from app.services.chat.running import StopSignal
from app.storage import Turn, UserRecord
from llmdoor import Attachment, Caller, ChatMessage, LLMError, Source, Tool, UsageEvent


@dataclass(frozen=True)
class ChatFailure:
    """Why no answer came: a model error, or (error None) an empty answer."""

    error: LLMError | None = None


class AnswerSink(Protocol):
    async def start(self) -> None: ...

    async def update(self, full_text_so_far: str) -> None: ...

    async def reasoning(self, reasoning_so_far: str) -> None:
        """The model's reasoning so far: shown apart from the answer, never part of it."""
        ...

    async def finish(
        self,
        final_text: str,
        *,
        cut_off: bool = False,
        stopped: bool = False,
        hit_limit: bool = False,
        reasoning: str = "",
        usage: UsageEvent | None = None,
    ) -> Sequence[int]:
        """The final answer; ``cut_off``: the model's stream broke before the end;
        ``stopped``: the user stopped it; ``hit_limit``: the model ran into its output
        token limit. Returns the ids of the messages it was delivered in (may be empty)."""
        ...

    async def fail(self, failure: ChatFailure) -> None: ...

    @property
    def shows_usage(self) -> bool:
        """Whether ``finish`` shows the call's usage (the /usage footer); the final
        message then waits for the end of the call, where the usage is."""
        ...

    def close(self) -> None:
        """The answer is over, however it ended: nothing more (no "typing…") may follow."""
        ...

    async def supersede(self, message_id: int) -> None:
        """A newer answer took over: ``message_id`` carried the previous one's buttons."""
        ...


class ChatOutcome(StrEnum):
    ANSWERED = "answered"
    PARTIAL = "partial"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True)
class ReplyContext:
    """The message the user replied to: quoted into the prompt, whoever wrote it."""

    text: str
    author: str | None = None  # a name; None when unknown
    from_bot: bool = False  # one of the bot's own answers
    forwarded_from: str | None = None  # the original author of a forwarded text
    # An answer of the active conversation, by its turn: quoted only when that turn is
    # trimmed out of the history the model is sent (it has it otherwise).
    turn: int | None = None


@dataclass(frozen=True)
class ChatRequest:
    user: UserRecord
    caller: Caller
    chat_id: int
    text: str
    attachments: Sequence[Attachment] = field(default_factory=tuple)
    thread_id: int = 0  # the forum topic: each topic is its own conversation
    message_id: int | None = None  # the user's Telegram message
    # All of the user's messages the question came from, when it came in pieces (a paste
    # Telegram split, an album, forwards with a comment); empty: just ``message_id``.
    message_ids: Sequence[int] = ()
    reply: ReplyContext | None = None
    # A one-to-one chat with the bot: the user's personal memory may go into the context
    # (in a group only when they turned that on: the other members read the answers).
    private: bool = False
    # Set it to stop the answer (⏹ Stop, /stop): the model call is cancelled and the text
    # so far is kept as the answer.
    stop: StopSignal | None = None
    # Answer in this conversation instead of the active one: a scheduled prompt's own.
    conversation_id: str | None = None
    # The user's language: what the answer's tools set up speaks it later.
    locale: str = "en"


# (answer text, model, the tool calls and results it came from) -> stored?
SaveAnswer = Callable[[str, str, Sequence[Turn]], Awaitable[bool]]


@dataclass(frozen=True)
class AnswerJob:
    """One model call to stream and keep: a new answer, or a regenerated / continued one
    (app.services.chat.controls). ``save(text, model, tool_turns)`` stores it before it
    is delivered (the model was paid for, whatever Telegram then does) and says whether it
    did; the ids of the messages it lands in are then recorded after ``prior_message_ids``."""

    prompt: str
    model: str
    history: list[ChatMessage]
    caller: Caller
    user_id: int
    chat_id: int
    conversation_id: str | None
    save: SaveAnswer
    attachments: Sequence[Attachment] = ()
    stop: StopSignal | None = None
    prior_message_ids: Sequence[int] = ()
    # The message that carried the answer buttons until now: they move to the new answer.
    superseded_message_id: int | None = None
    # Rounds that may run tools (None: the setting). 0: the tools are declared, so the
    # history keeps the tool calls and results, but none is called (Continue goes on
    # writing from what the answer found; it does not search again).
    tool_rounds: int | None = None
    sources: Sequence[Source] = ()  # what the answer cited so far (Continue cites them too)
    system_prompt: str | None = None  # the conversation's persona (None: the default)
    # Tools of this answer only, beside the configured ones (the user's ``remember``).
    own_tools: Sequence[Tool] = ()
    # False: no tool is offered at all (a catch-up summarizes what it is given).
    offer_tools: bool = True


__all__ = [
    "AnswerJob",
    "AnswerSink",
    "ChatFailure",
    "ChatOutcome",
    "ChatRequest",
    "ReplyContext",
    "SaveAnswer",
]
