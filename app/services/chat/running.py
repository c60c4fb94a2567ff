"""Answers being streamed right now, so ⏹ Stop and /stop can reach them.

Per process: an answer is stopped by the instance that streams it. (With several instances
behind a webhook, /stop reaches the instance Telegram's update lands on; the inline button
carries the answer's token, so a press handled elsewhere does nothing rather than harm.)"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


class StopSignal(asyncio.Event):
    """Set by ⏹ Stop or /stop. Closed once the model has written the whole answer: its
    delivery and the end of its call may still take a moment, but there is nothing left
    to stop, and a stop pressed then is told so instead of "Stopping…"."""

    closed = False

    def close(self) -> None:
        self.closed = True


@dataclass(eq=False)
class RunningAnswer:
    user_id: int
    chat_id: int
    thread_id: int = 0  # the forum topic; 0 outside topics
    token: str = field(default_factory=lambda: secrets.token_urlsafe(6))
    # The id of the answer's drafts in a private chat: Telegram's own Stop button names it.
    # Non-zero per the Bot API; random, so two answers in a chat never share one.
    draft_id: int = field(default_factory=lambda: secrets.randbelow(2**31 - 2) + 1)
    stop: StopSignal = field(default_factory=StopSignal)


class RunningAnswers:
    def __init__(self) -> None:
        # (user, chat, topic): each forum topic is its own conversation, stopped apart.
        self._by_key: dict[tuple[int, int, int], list[RunningAnswer]] = {}

    @contextmanager
    def track(self, user_id: int, chat_id: int, thread_id: int = 0) -> Iterator[RunningAnswer]:
        """Register an answer for as long as it streams (or waits for its turn)."""
        answer = RunningAnswer(user_id, chat_id, thread_id)
        key = (user_id, chat_id, thread_id)
        self._by_key.setdefault(key, []).append(answer)
        try:
            yield answer
        finally:
            answers = self._by_key.get(key, [])
            if answer in answers:
                answers.remove(answer)
            if not answers:
                self._by_key.pop(key, None)

    def stop(
        self,
        user_id: int,
        chat_id: int,
        thread_id: int = 0,
        *,
        token: str | None = None,
        draft_id: int | None = None,
    ) -> int:
        """Stop the user's answers in this chat and topic (/stop), or only the one with
        ``token`` (its ⏹ Stop button) or ``draft_id`` (Telegram's own Stop on its draft),
        whichever topic it is in; returns how many were still being written."""
        if token is None and draft_id is None:
            candidates = self._by_key.get((user_id, chat_id, thread_id), [])
        else:
            candidates = [
                a
                for (user, chat, _topic), answers in self._by_key.items()
                if (user, chat) == (user_id, chat_id)
                for a in answers
                if (token is not None and a.token == token)
                or (draft_id is not None and a.draft_id == draft_id)
            ]
        stopped = 0
        for answer in candidates:
            if not answer.stop.is_set() and not answer.stop.closed:
                answer.stop.set()
                stopped += 1
        return stopped

    def count(self) -> int:
        return sum(len(a) for a in self._by_key.values())
