"""ChatService: one user message in, one streamed answer out, in the context of the user's
active conversation. Plain inputs and outcomes, no Telegram: the caller supplies the output
sink (the bot wraps an AnswerStreamer) and turns failures into texts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from weakref import WeakValueDictionary

from app.services.chat.admission import AnswerGate
from app.services.chat.answer_stream import AnswerProgress, read_answer, valid_text
from app.services.chat.call_ends import AnswerLock, end_later, holding, pending_ends
from app.services.chat.context import with_reply
from app.services.chat.job import (
    AnswerJob,
    AnswerSink,
    ChatFailure,
    ChatOutcome,
    ChatRequest,
    ReplyContext,
)
from app.services.chat.place import leave_intake
from app.services.chat.titles import TitleService
from app.services.chat.tool_answer import (
    ToolProgressSink,
    turn_message,
    without_tool_turns,
)
from app.services.conversations.personas import PersonaService
from app.services.conversations.service import ConversationKey, ConversationService
from app.services.memory.service import MemoryContext, MemoryService
from app.services.memory.summaries import SummaryService, live_turns, summary_block
from app.services.memory.tool import MemorySink, remember_tool
from app.services.schedule.service import ScheduleService
from app.services.schedule.tool import ScheduleSink, Where, schedule_tool
from app.services.tools import ToolService
from app.storage import Conversation, ConversationInfo, Storage, Turn, UserRecord
from app.storage.errors import StorageUnavailable
from app.storage.facts import Fact
from app.storage.tasks import ScheduledTask
from llmdoor import (
    ChatMessage,
    LLMError,
    LLMProvider,
    QueryOptions,
    StreamInterrupted,
    UsageEvent,
    combine_usage,
    ensure_loaded,
)

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


def _written(job: AnswerJob) -> None:
    """The model is done with this answer (whole, cut off, failed or stopped): a /stop
    from now on has nothing to stop and says so."""
    if job.stop is not None:
        job.stop.close()


async def _wait(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        await asyncio.wait({task})


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
        gate: AnswerGate | None = None,
        memory: MemoryService | None = None,
        summaries: SummaryService | None = None,
        schedule: ScheduleService | None = None,
    ) -> None:
        self._storage = storage
        # Offers the ``schedule`` tool (reminders and scheduled prompts set in words).
        self.schedule = schedule
        self.memory = memory
        self.summaries = summaries
        self._llm = llm
        self._default_model = default_model
        # The prompt when the conversation's persona can't be read (database down).
        self.system_prompt = system_prompt
        self.personas = personas or PersonaService(storage)
        self.conversations = conversations or ConversationService(
            storage, self.personas, default_model=default_model
        )
        self.titles = titles or TitleService(storage, llm, enabled=False)
        self._tools = tools
        # Model streams start in order while the process keeps up (see admission.py).
        self.gate = gate or AnswerGate()
        # One answer at a time per conversation, so a quick second message sees the first
        # exchange in its context and answers arrive in order (buttons take the same lock).
        self._locks: WeakValueDictionary[tuple[int, int, int], AnswerLock] = WeakValueDictionary()

    @property
    def storage(self) -> Storage:
        return self._storage

    def model_for(self, user: UserRecord, conversation: ConversationInfo | None = None) -> str:
        """The conversation's own model, else the user's default, else the bot's."""
        return (conversation.model if conversation else None) or user.model or self._default_model

    async def new_conversation(self, user_id: int, chat_id: int, thread_id: int = 0) -> None:
        await self.conversations.start_new(ConversationKey(user_id, chat_id, thread_id), None)

    def lock_for(self, user_id: int, chat_id: int, thread_id: int = 0) -> AnswerLock:
        key = (user_id, chat_id, thread_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = AnswerLock()
        return lock

    async def answer(self, request: ChatRequest, sink: AnswerSink) -> ChatOutcome:
        async with holding(self.lock_for(request.user.user_id, request.chat_id, request.thread_id)):
            return await self._answer(request, sink)

    async def _answer(self, request: ChatRequest, sink: AnswerSink) -> ChatOutcome:
        user = request.user
        conversation = await self._load(request)
        conversation_id = conversation.id if conversation is not None else None
        model = self.model_for(user, conversation)
        system_prompt = await self.persona_prompt(conversation)
        incognito = conversation is not None and conversation.incognito
        memory = await self.memory_context(user, private=request.private, conversation=conversation)
        system_prompt = with_memory(system_prompt, memory)
        system_prompt = with_summary(system_prompt, conversation)
        if incognito and isinstance(sink, MemorySink):
            sink.incognito()
        reply = await self._reply_to_quote(request, conversation, model, system_prompt)
        prompt = with_reply(request.text, reply)
        kept: list[str] = []
        facts: list[Fact] = []
        tasks: list[ScheduledTask] = []
        own_tools = []
        # A scheduled prompt's run has nobody asking: it neither keeps facts nor sets tasks.
        asked = request.conversation_id is None
        # Where the user's memory may be used, the model may also add to it.
        where = request.private or user.prefs.memory_in_groups
        if (
            self.memory is not None
            and asked
            and where
            and not incognito
            and self.memory.may_propose(user)
        ):
            own_tools.append(remember_tool(self.memory, user.user_id, facts))
        if self.schedule is not None and self.schedule.settings.tool and asked:
            place = Where(request.chat_id, request.thread_id, request.locale)
            own_tools.append(schedule_tool(self.schedule, user, place, tasks))

        async def save(answer: str, model: str, tool_turns: Sequence[Turn]) -> bool:
            kept.append(answer)
            return await self._remember(conversation, request, prompt, answer, model, tool_turns)

        job = AnswerJob(
            prompt=prompt,
            model=model,
            history=history_of(live_turns(conversation)) if conversation is not None else [],
            caller=request.caller,
            user_id=user.user_id,
            chat_id=request.chat_id,
            conversation_id=conversation_id,
            save=save,
            attachments=request.attachments,
            stop=request.stop,
            superseded_message_id=(
                buttons_message(conversation.turns) if conversation is not None and asked else None
            ),
            system_prompt=system_prompt,
            own_tools=own_tools,
        )
        outcome = await self.run(job, sink)
        if facts and isinstance(sink, MemorySink):
            await sink.remembered(facts)
        if tasks and isinstance(sink, ScheduleSink):
            await sink.scheduled(tasks)
        if memory is not None and self.memory is not None and kept:
            await self.memory.used(user.user_id, memory)
        # The first exchange names the conversation, also when its answer was stopped or
        # cut off (what was kept of it is the answer).
        if kept and conversation is not None and self.summaries is not None:
            self.summaries.after_answer(
                conversation.id, model, request.caller, after=pending_ends()
            )
        if kept and conversation is not None and not conversation.turns and not incognito:
            await self.titles.after_first_exchange(
                conversation.id, request.text, kept[-1], model, request.caller, after=pending_ends()
            )
        return outcome

    async def _reply_to_quote(
        self,
        request: ChatRequest,
        conversation: Conversation | None,
        model: str,
        system_prompt: str,
    ) -> ReplyContext | None:
        """The reply context to quote. An answer of the active conversation is left out
        while its turn is in the history the model is sent (the same trim as ``run``)."""
        reply = request.reply
        if reply is None or reply.turn is None or conversation is None:
            return reply
        if reply.turn >= len(conversation.turns):
            return reply
        if conversation.folded(conversation.turns[reply.turn]):
            return reply  # the model gets only the summary of that part
        await ensure_loaded()  # the trim needs litellm's tokenizer
        live = live_turns(conversation)
        history = history_of(live)
        sent = self._llm.fit_history(model, system_prompt, history, request.text)
        first_sent = len(conversation.turns) - len(sent)
        return None if reply.turn >= first_sent else reply

    async def run(self, job: AnswerJob, sink: AnswerSink) -> ChatOutcome:
        """Stream one model call into ``sink``, keep the answer, record its messages."""
        if job.stop is not None and job.stop.is_set():
            # Stopped while waiting for its turn (/stop stops queued answers too): no call.
            await sink.finish("", stopped=True)
            return ChatOutcome.STOPPED
        await sink.start()
        leave_intake()  # "typing…" is on its way: the next update may take its first steps
        try:
            return await self._stream(job, sink)
        finally:
            sink.close()  # also when it raised: the error reply must not get "typing…" after it

    async def _stream(self, job: AnswerJob, sink: AnswerSink) -> ChatOutcome:
        progress = AnswerProgress()
        calls: list[UsageEvent] = []  # every round's usage, a stopped one too
        stopped = False
        tools = (
            await self._tools.tools_for(job.caller, job.chat_id)
            if self._tools is not None and job.offer_tools
            else []
        )
        # The persona's prompt goes first in every call and is never trimmed away.
        system = job.system_prompt or self.system_prompt
        system = system + TOOLS_PROMPT if tools else system  # the citing tools
        tools = [*tools, *job.own_tools] if job.offer_tools else []
        try:
            # The place is held while the model streams, not while Telegram delivers.
            async with self.gate.slot(job.stop) as admitted:
                if not admitted:
                    await sink.finish("", stopped=True)  # stopped while waiting its turn
                    return ChatOutcome.STOPPED
                await ensure_loaded()  # the history trim below needs litellm's tokenizer
                # Without tools declared, vendors refuse tool calls and results in history.
                history = job.history if tools else without_tool_turns(job.history)
                history = self._llm.fit_history(job.model, system, history, job.prompt)
                options: QueryOptions = {
                    "system_message": system,
                    "chat_history": history,
                    "attachments": list(job.attachments) or None,
                    "caller": job.caller,
                    "on_usage": calls.append,
                }
                if tools:
                    options["tools"] = list(tools)
                    if job.tool_rounds is not None:
                        options["max_tool_rounds"] = job.tool_rounds
                offered = frozenset(t.name for t in tools)
                try:
                    events = self._llm.aquery_llm_events(job.prompt, job.model, **options)
                    stopped = await read_answer(
                        events, sink, progress, job.stop, self._tools, offered
                    )
                finally:
                    _written(job)
        except StreamInterrupted as exc:
            partial = valid_text(exc.partial_text or "".join(progress.text))
            # Remember first: the model was paid for, even if Telegram then fails us.
            saved = await job.save(partial, job.model, ()) if partial.strip() else False
            ids = await sink.finish(
                partial,
                cut_off=True,
                reasoning=valid_text("".join(progress.thoughts)),
                usage=combine_usage(calls),
            )
            await self._record_messages(job, sink, saved, ids)
            return ChatOutcome.PARTIAL
        except LLMError as exc:
            model = exc.model or job.model
            log.info("chat: model error for user %s on %s: %s", job.user_id, model, exc.kind)
            await sink.fail(ChatFailure(exc))
            return ChatOutcome.FAILED
        answer = valid_text("".join(progress.text))
        reasoning = valid_text("".join(progress.thoughts))
        finished = progress.finished
        if stopped:
            # The call was cancelled: its usage is recorded as partial by llmdoor.
            saved = await job.save(answer, job.model, ()) if answer.strip() else False
            ids = await sink.finish(
                answer, stopped=True, reasoning=reasoning, usage=combine_usage(calls)
            )
            await self._record_messages(job, sink, saved, ids)
            return ChatOutcome.STOPPED
        if not answer.strip():
            await _wait(progress.tail)
            await sink.fail(ChatFailure())
            return ChatOutcome.FAILED
        sources = progress.sources or list(job.sources)
        if sources and isinstance(sink, ToolProgressSink):
            await sink.show_sources(sources)
        try:
            if sink.shows_usage:
                await _wait(progress.tail)  # the footer shows the call's usage
            saved = await job.save(answer, job.model, progress.tool_turns)
            ids = await sink.finish(
                answer,
                hit_limit=finished is not None and finished.finish_reason == "length",
                reasoning=reasoning,
                usage=combine_usage(calls),  # all rounds: the tool rounds cost too
            )
            await self._record_messages(job, sink, saved, ids)
        finally:
            if progress.tail is not None:
                await end_later(progress.tail)  # outside the conversation's lock
        return ChatOutcome.ANSWERED

    async def _record_messages(
        self, job: AnswerJob, sink: AnswerSink, saved: bool, ids: Sequence[int] | None
    ) -> None:
        if not saved or not ids or job.conversation_id is None:
            return
        if job.superseded_message_id is not None and job.superseded_message_id not in ids:
            await sink.supersede(job.superseded_message_id)
        try:
            await self._storage.conversations.set_message_ids(
                job.conversation_id, [*job.prior_message_ids, *ids]
            )
        except StorageUnavailable:
            log.warning("chat: could not record the answer's messages in %s", job.conversation_id)

    async def _load(self, request: ChatRequest) -> Conversation | None:
        key = ConversationKey(request.user.user_id, request.chat_id, request.thread_id)
        # A database outage must not cost the user their answer: answer without context.
        try:
            if request.conversation_id is not None:
                return await self._storage.conversations.get(request.conversation_id)
            return await self.conversations.active(key, request.user.model)
        except StorageUnavailable:
            log.warning(
                "chat: conversation of user %s unavailable, answering without it",
                request.user.user_id,
            )
            return None

    async def memory_context(
        self, user: UserRecord, *, private: bool, conversation: ConversationInfo | None = None
    ) -> MemoryContext | None:
        """The user's facts for an answer; none in an incognito conversation."""
        if self.memory is None or (conversation is not None and conversation.incognito):
            return None
        return await self.memory.context_for(user, private=private)

    async def persona_prompt(self, conversation: Conversation | None) -> str:
        if conversation is None:
            return self.system_prompt
        try:
            return (await self.personas.resolve(conversation.persona)).prompt
        except StorageUnavailable:
            return self.system_prompt

    async def _remember(
        self,
        conversation: Conversation | None,
        request: ChatRequest,
        prompt: str,
        answer: str,
        model: str,
        tool_turns: Sequence[Turn] = (),
    ) -> bool:
        user_text = prompt
        if request.attachments:
            user_text = f"[image] {user_text}".strip()
        turns = [
            Turn(
                role="user",
                content=user_text,
                message_ids=list(request.message_ids)
                or ([request.message_id] if request.message_id else []),
            ),
            *tool_turns,  # the tool calls and results the answer came from
            Turn(role="assistant", content=answer, model=model),
        ]
        try:
            if conversation is None and request.conversation_id is not None:
                return False  # a scheduled prompt's exchange never goes to the active chat
            if conversation is None:
                # Answered without it (the database was unavailable): the exchange still
                # goes to the active conversation, now or when the database is back.
                await self._storage.conversation_writes.append_to_active(
                    request.user.user_id, request.chat_id, request.thread_id, turns
                )
                return False
            await self._storage.conversations.append(conversation.id, turns)
        except StorageUnavailable:
            log.warning("chat: could not save the exchange of user %s", request.user.user_id)
            return False
        return True


def with_summary(system_prompt: str, conversation: Conversation | None) -> str:
    """The system prompt with the summary of the conversation's folded turns after it."""
    block = summary_block(conversation)
    return f"{system_prompt}\n\n{block}" if block else system_prompt


def with_memory(system_prompt: str, memory: MemoryContext | None) -> str:
    """The system prompt with the user's facts after it (the persona stays first)."""
    return f"{system_prompt}\n\n{memory.text}" if memory is not None else system_prompt


def buttons_message(turns: Sequence[Turn]) -> int | None:
    """The message that carries the answer buttons: the last one of the last answer."""
    if turns and turns[-1].role == "assistant" and turns[-1].message_ids:
        return turns[-1].message_ids[-1]
    return None


def history_of(turns: Sequence[Turn]) -> list[ChatMessage]:
    """What the model is sent back: roles, answer texts and tool turns (never reasoning)."""
    return [turn_message(t) for t in turns]
