"""Conversation titles: the start of the first message at once, then one short model call
after the first exchange. The call goes through llmdoor with the user's caller, so it is
checked, recorded as usage and charged like any other; when it fails the start of the
first message stays the title. A title the user set in between is never overwritten.

A title is worth less than anybody's answer: title calls go one at a time, and while the
process is saturated (many answers streaming) each waits for a quiet moment, up to
``QUIET_WAIT_SECONDS``. A burst of new conversations thus never turns into a burst of
title calls competing with the answers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection

from app.services.chat.load import LoopLoad, NeverBusy
from app.services.plain_text import visible
from app.storage import Storage
from app.storage.errors import StorageUnavailable
from llmdoor import Caller, LLMError, LLMProvider

log = logging.getLogger(__name__)

FALLBACK_CHARS = 48
MAX_TITLE_CHARS = 64
TITLE_PROMPT = (
    "Write a title of at most six words for this conversation, in the language of the "
    "user's message. Reply with the title only: no quotes, no final period.\n\n"
    "User: {user}\n\nAssistant: {answer}"
)
#: How much of the exchange the title call reads (it needs the gist, not all of it).
EXCERPT_CHARS = 1500
#: How long a title call waits for the event loop to be quiet before it goes anyway.
QUIET_WAIT_SECONDS = 30.0


def fallback_title(text: str) -> str:
    """The first line of ``text``, cut at a word boundary near ``FALLBACK_CHARS``, without
    control and bidi characters."""
    text = "\n".join(visible(line) for line in text.splitlines())
    line = " ".join(text.strip().splitlines()[0].split()) if text.strip() else ""
    if len(line) <= FALLBACK_CHARS:
        return line or "…"
    cut = line[:FALLBACK_CHARS].rsplit(" ", 1)[0] or line[:FALLBACK_CHARS]
    return cut.rstrip(",.;:") + "…"


def clean_title(raw: str) -> str | None:
    """The model's reply as a one-line title without control and bidi characters; None
    when nothing usable came back."""
    text = " ".join(visible(raw).strip().split())
    text = text.strip("\"'«»“”`*#").strip()
    if text.lower().startswith("title:"):
        text = text[6:].strip()
    text = text.rstrip(".")
    if not text:
        return None
    return text if len(text) <= MAX_TITLE_CHARS else text[: MAX_TITLE_CHARS - 1] + "…"


class TitleService:
    def __init__(
        self,
        storage: Storage,
        llm: LLMProvider,
        *,
        enabled: bool = True,
        model: str | None = None,
        load: LoopLoad | None = None,
    ) -> None:
        self._storage = storage
        self._load = load or NeverBusy()
        self._llm = llm
        self.enabled = enabled
        self._model = model  # None: the conversation's model
        self._tasks: set[asyncio.Task[None]] = set()
        self._one_at_a_time = asyncio.Semaphore(1)

    async def after_first_exchange(
        self,
        conversation_id: str,
        user_text: str,
        answer: str,
        model: str,
        caller: Caller,
        *,
        after: Collection[asyncio.Task[None]] = (),
    ) -> None:
        """Set the fallback title now and, when enabled, ask the model in the background
        (the user has their answer already; the title is not worth their wait). The call
        goes once the calls in ``after`` have ended: the answer's own call may still be
        settling its budget, which the title's budget check must see."""
        fallback = fallback_title(user_text)
        try:
            if not await self._storage.conversations.replace_title(conversation_id, None, fallback):
                return  # titled already (renamed by the user)
        except StorageUnavailable:
            log.warning("titles: could not store the title of %s", conversation_id)
            return
        if not self.enabled:
            return
        task = asyncio.create_task(
            self._ask(conversation_id, fallback, user_text, answer, model, caller, after),
            name=f"title-{conversation_id}",
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ask(
        self,
        conversation_id: str,
        fallback: str,
        user_text: str,
        answer: str,
        model: str,
        caller: Caller,
        after: Collection[asyncio.Task[None]] = (),
    ) -> None:
        if after:
            await asyncio.wait(after)
        prompt = TITLE_PROMPT.format(user=user_text[:EXCERPT_CHARS], answer=answer[:EXCERPT_CHARS])
        try:
            async with self._one_at_a_time:
                await self._load.wait_quiet(QUIET_WAIT_SECONDS)
                raw = await self._llm.aquery_llm(
                    prompt, self._model or model, caller=caller, max_tokens=30, temperature=0.2
                )
        except LLMError as exc:
            log.info("titles: model call failed (%s), keeping the fallback", exc.kind)
            return
        title = clean_title(raw)
        if title is None:
            return
        try:
            await self._storage.conversations.replace_title(conversation_id, fallback, title)
        except StorageUnavailable:
            log.warning("titles: could not store the title of %s", conversation_id)

    async def drain(self) -> None:
        """Wait for titles in flight (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, grace: float = 5.0) -> None:
        """At shutdown: let titles in flight finish for ``grace`` seconds, then cancel them
        (a cancelled call is still recorded and charged by llmdoor)."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(list(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


__all__ = ["TitleService", "clean_title", "fallback_title"]
