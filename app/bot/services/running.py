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


@dataclass(eq=False)
class RunningAnswer:
    user_id: int
    chat_id: int
    token: str = field(default_factory=lambda: secrets.token_urlsafe(6))
    stop: asyncio.Event = field(default_factory=asyncio.Event)


class RunningAnswers:
    def __init__(self) -> None:
        self._by_key: dict[tuple[int, int], list[RunningAnswer]] = {}

    @contextmanager
    def track(self, user_id: int, chat_id: int) -> Iterator[RunningAnswer]:
        """Register an answer for as long as it streams (or waits for its turn)."""
        answer = RunningAnswer(user_id, chat_id)
        key = (user_id, chat_id)
        self._by_key.setdefault(key, []).append(answer)
        try:
            yield answer
        finally:
            answers = self._by_key.get(key, [])
            if answer in answers:
                answers.remove(answer)
            if not answers:
                self._by_key.pop(key, None)

    def stop(self, user_id: int, chat_id: int, token: str | None = None) -> int:
        """Stop the user's answers in this chat (only the one with ``token`` if given);
        returns how many were running."""
        stopped = 0
        for answer in self._by_key.get((user_id, chat_id), []):
            if token is not None and answer.token != token:
                continue
            if not answer.stop.is_set():
                answer.stop.set()
                stopped += 1
        return stopped

    def count(self) -> int:
        return sum(len(a) for a in self._by_key.values())
