"""🔄 Regenerate, ➡️ Continue and 🔀 Another model: acting again on the latest answer.

Plain inputs and outcomes, no Telegram. Every action takes the conversation's lock (the
one new messages take), then checks that the pressed message still carries the latest
answer of the user's active conversation in that chat. So a second press, a replayed or
forged callback, or a press on an older answer finds the check failing and does nothing:
no model call, no charge, no history entry.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from app.services.chat.call_ends import holding
from app.services.chat.job import AnswerJob, AnswerSink, ChatOutcome
from app.services.chat.running import StopSignal
from app.services.chat.service import (
    ChatService,
    buttons_message,
    history_of,
    with_memory,
    with_summary,
)
from app.services.memory.summaries import live_turns
from app.storage import Conversation, Turn, UserRecord
from app.storage.errors import StorageUnavailable
from llmdoor import Caller, sources_in

log = logging.getLogger(__name__)

CONTINUE_PROMPT = (
    "Continue your previous answer exactly where it stopped. Do not repeat anything you "
    "already wrote and add no preamble."
)


class ControlStatus(StrEnum):
    DONE = "done"  # the action ran (see ``outcome`` for how the answer went)
    EXPIRED = "expired"  # not the latest answer (any more): nothing happened
    # An answer of this conversation is being written (it will be the latest): nothing
    # happened, and nothing waits for it either.
    BUSY = "busy"
    UNAVAILABLE = "unavailable"  # the database could not be read: nothing happened
    # An edit of a question that came in several messages: nothing happened.
    IN_PIECES = "in_pieces"


# Called once the action is sure to run (its check passed under the lock), before the
# model is called: the bot layer acknowledges the press then.
Started = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class ControlResult:
    status: ControlStatus
    outcome: ChatOutcome | None = None
    # An edited question asked again: the messages of the answer the new one replaced
    # (empty when the new answer was not kept, so the old one stays).
    replaced: Sequence[int] = ()


@dataclass(frozen=True)
class EditedQuestion:
    """``user`` edited their message ``message_id`` to ``text`` (reply context included)."""

    user: UserRecord
    caller: Caller
    chat_id: int
    message_id: int
    text: str
    thread_id: int = 0
    stop: StopSignal | None = None
    private: bool = False  # a one-to-one chat: the user's memory may go into the context


@dataclass(frozen=True)
class ControlPress:
    """A press on an answer's button, by ``user`` on message ``message_id``."""

    user: UserRecord
    caller: Caller
    chat_id: int
    message_id: int
    stop: StopSignal | None = None
    thread_id: int = 0  # the forum topic (each topic is its own conversation)
    private: bool = False  # a one-to-one chat: the user's memory may go into the context


@dataclass(frozen=True)
class _Latest:
    conversation: Conversation
    answer: Turn
    prompt_index: int  # the user turn the answer (and its tool turns) followed

    @property
    def prompt(self) -> Turn:
        return self.conversation.turns[self.prompt_index]


def _join(answer: str, more: str) -> str:
    """The separator a continuation needs to read on from the answer."""
    if not answer or not more or answer[-1].isspace() or more[0].isspace():
        return more
    return " " + more


class AnswerControls:
    def __init__(self, chat: ChatService) -> None:
        self._chat = chat
        self._conversations = chat.storage.conversations

    async def _latest(
        self, user_id: int, chat_id: int, message_id: int, thread_id: int = 0
    ) -> _Latest | None:
        """The answer the pressed message carries, if it is the latest one."""
        conversation = await self._conversations.active(user_id, chat_id, thread_id)
        turns = conversation.turns
        if buttons_message(turns) != message_id:
            return None
        users = [i for i, t in enumerate(turns) if t.role == "user"]
        if not users:
            return None
        return _Latest(conversation, turns[-1], users[-1])

    async def _system_prompt(self, press: ControlPress, conversation: Conversation) -> str:
        return with_summary(await self._memory_prompt(press, conversation), conversation)

    async def _memory_prompt(self, press: ControlPress, conversation: Conversation) -> str:
        return with_memory(
            await self._chat.persona_prompt(conversation),
            await self._chat.memory_context(
                press.user, private=press.private, conversation=conversation
            ),
        )

    async def is_latest(
        self, user_id: int, chat_id: int, message_id: int, thread_id: int = 0
    ) -> ControlStatus:
        """For buttons that only change the keyboard (the model picker)."""
        try:
            found = await self._latest(user_id, chat_id, message_id, thread_id)
        except StorageUnavailable:
            return ControlStatus.UNAVAILABLE
        return ControlStatus.DONE if found is not None else ControlStatus.EXPIRED

    async def answer_model(
        self, user_id: int, chat_id: int, message_id: int, thread_id: int = 0
    ) -> str | None:
        """The model the latest answer came from (the picker marks it); None if unknown."""
        try:
            found = await self._latest(user_id, chat_id, message_id, thread_id)
        except StorageUnavailable:
            return None
        return found.answer.model if found is not None else None

    async def regenerate(
        self,
        press: ControlPress,
        sink: AnswerSink,
        model: str | None = None,
        started: Started | None = None,
    ) -> ControlResult:
        """Answer the same prompt again (with ``model`` for this answer only, if given): a
        fresh attempt, tools included. The new answer and the tool calls and results it
        came from replace the old ones in the history; Telegram keeps both messages."""
        lock = self._chat.lock_for(press.user.user_id, press.chat_id, press.thread_id)
        if lock.locked():
            # Queued behind it, the press would find that answer the latest one and expire.
            return ControlResult(ControlStatus.BUSY)
        # Free: taken at once, nothing can come in between.
        async with holding(lock):
            try:
                latest = await self._latest(
                    press.user.user_id, press.chat_id, press.message_id, press.thread_id
                )
            except StorageUnavailable:
                return ControlResult(ControlStatus.UNAVAILABLE)
            if latest is None:
                return ControlResult(ControlStatus.EXPIRED)
            if started is not None:
                await started()
            conversation_id = latest.conversation.id

            async def save(text: str, used_model: str, tool_turns: Sequence[Turn]) -> bool:
                # A fresh attempt: its own tool calls and results replace the old answer's.
                turn = Turn(role="assistant", content=text, model=used_model)
                try:
                    return await self._conversations.replace_last_assistant(
                        conversation_id, turn, tool_turns
                    )
                except StorageUnavailable:
                    log.warning("controls: regenerated answer not saved in %s", conversation_id)
                    return False

            job = AnswerJob(
                prompt=latest.prompt.content,
                model=model or self._chat.model_for(press.user, latest.conversation),
                history=history_of(
                    live_turns(
                        latest.conversation, latest.conversation.turns[: latest.prompt_index]
                    )
                ),
                caller=press.caller,
                user_id=press.user.user_id,
                chat_id=press.chat_id,
                conversation_id=conversation_id,
                save=save,
                stop=press.stop,
                superseded_message_id=press.message_id,
                system_prompt=await self._system_prompt(press, latest.conversation),
            )
            return ControlResult(ControlStatus.DONE, await self._chat.run(job, sink))

    async def continue_answer(
        self, press: ControlPress, sink: AnswerSink, started: Started | None = None
    ) -> ControlResult:
        """Ask the model to go on where the answer stopped, with the tool results the answer
        came from in view (and its sources shown again); the continuation is appended to
        the same answer in the history (and arrives in a new message)."""
        lock = self._chat.lock_for(press.user.user_id, press.chat_id, press.thread_id)
        if lock.locked():
            # Queued behind it, the press would find that answer the latest one and expire.
            return ControlResult(ControlStatus.BUSY)
        # Free: taken at once, nothing can come in between.
        async with holding(lock):
            try:
                latest = await self._latest(
                    press.user.user_id, press.chat_id, press.message_id, press.thread_id
                )
            except StorageUnavailable:
                return ControlResult(ControlStatus.UNAVAILABLE)
            if latest is None:
                return ControlResult(ControlStatus.EXPIRED)
            if started is not None:
                await started()
            conversation_id = latest.conversation.id
            answer = latest.answer
            found = latest.conversation.turns[latest.prompt_index + 1 : -1]

            async def save(text: str, _model: str, _tool_turns: Sequence[Turn]) -> bool:
                try:
                    return await self._conversations.extend_last_assistant(
                        conversation_id, _join(answer.content, text)
                    )
                except StorageUnavailable:
                    log.warning("controls: continuation not saved in %s", conversation_id)
                    return False

            job = AnswerJob(
                prompt=CONTINUE_PROMPT,
                model=answer.model or self._chat.model_for(press.user, latest.conversation),
                history=history_of(live_turns(latest.conversation)),
                caller=press.caller,
                user_id=press.user.user_id,
                chat_id=press.chat_id,
                tool_rounds=0,  # the answer's findings stay in view; no new search
                sources=sources_in(t.content for t in found if t.role == "tool"),
                system_prompt=await self._system_prompt(press, latest.conversation),
                conversation_id=conversation_id,
                save=save,
                stop=press.stop,
                prior_message_ids=answer.message_ids,
                superseded_message_id=press.message_id,
            )
            return ControlResult(ControlStatus.DONE, await self._chat.run(job, sink))

    async def reask(self, edit: EditedQuestion, sink: AnswerSink) -> ControlResult:
        """Ask an edited question again, when it is the latest question of the user's active
        conversation and its answer is written: one new call, and the new question, its
        tool turns and answer replace the old exchange in the history, so the model never
        sees both. The old answer's messages are returned in ``replaced`` for the caller
        to take away once the new answer is kept."""
        lock = self._chat.lock_for(edit.user.user_id, edit.chat_id, edit.thread_id)
        if lock.locked():
            return ControlResult(ControlStatus.BUSY)
        async with holding(lock):
            try:
                conversation = await self._conversations.active(
                    edit.user.user_id, edit.chat_id, edit.thread_id
                )
            except StorageUnavailable:
                return ControlResult(ControlStatus.UNAVAILABLE)
            turns = conversation.turns
            users = [i for i, t in enumerate(turns) if t.role == "user"]
            if not users or turns[-1].role != "assistant":
                return ControlResult(ControlStatus.EXPIRED)
            question = turns[users[-1]]
            if edit.message_id not in question.message_ids:
                return ControlResult(ControlStatus.EXPIRED)
            if len(question.message_ids) > 1:
                return ControlResult(ControlStatus.IN_PIECES)
            old_answer_ids = [mid for t in turns[users[-1] + 1 :] for mid in t.message_ids]
            kept: list[bool] = []

            async def save(text: str, used_model: str, tool_turns: Sequence[Turn]) -> bool:
                new = [
                    Turn(role="user", content=edit.text, message_ids=[edit.message_id]),
                    *tool_turns,
                    Turn(role="assistant", content=text, model=used_model),
                ]
                try:
                    done = await self._conversations.replace_last_exchange(
                        conversation.id, edit.message_id, new
                    )
                except StorageUnavailable:
                    log.warning("controls: edited question not saved in %s", conversation.id)
                    return False
                kept.append(done)
                return done

            job = AnswerJob(
                prompt=edit.text,
                model=self._chat.model_for(edit.user, conversation),
                history=history_of(live_turns(conversation, turns[: users[-1]])),
                caller=edit.caller,
                user_id=edit.user.user_id,
                chat_id=edit.chat_id,
                conversation_id=conversation.id,
                save=save,
                stop=edit.stop,
                system_prompt=with_summary(
                    with_memory(
                        await self._chat.persona_prompt(conversation),
                        await self._chat.memory_context(
                            edit.user, private=edit.private, conversation=conversation
                        ),
                    ),
                    conversation,
                ),
            )
            outcome = await self._chat.run(job, sink)
            replaced = old_answer_ids if kept and kept[-1] else []
            return ControlResult(ControlStatus.DONE, outcome, replaced)
