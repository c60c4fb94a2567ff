"""TurnCollector: the pieces of one turn collected in storage, answered once a short quiet
window passed after the last one.

The handler of each piece adds it and waits the window; then it claims the collection,
which only succeeds if no piece came after its own (see app.storage.pieces). The claim is
one atomic storage operation, so with several webhook instances sharing MongoDB the pieces
still make one turn, answered by the instance that took the last piece. Nothing is routed
between instances and no instance keeps a timer: a handler that waits is an ordinary
coroutine, and a collection whose instance died is dropped as stale by the next piece."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.storage.errors import StorageUnavailable
from app.storage.pieces import CollectedTurn, PieceRepository, PieceTicket, TurnPiece

log = logging.getLogger(__name__)

# An open collection older than this lost its instance: the next piece starts afresh.
STALE_AFTER_SECONDS = 60.0
# Arrivals remembered by this process (see ``mark``); the oldest are forgotten beyond it.
MAX_MARKS = 10_000


@dataclass(frozen=True)
class PieceKey:
    """Whose turn, where: one collection per user, chat and forum topic."""

    user_id: int
    chat_id: int
    thread_id: int = 0

    def __str__(self) -> str:
        return f"{self.user_id}:{self.chat_id}:{self.thread_id}"


def utc_now() -> datetime:
    return datetime.now(UTC)


class TurnCollector:
    def __init__(
        self,
        repo: PieceRepository,
        *,
        window: float,
        max_pieces: int,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._repo = repo
        self.window = window
        self.max_pieces = max_pieces
        self._clock = clock
        self._marks: OrderedDict[PieceKey, float] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.window > 0

    def mark(self, key: PieceKey) -> None:
        """A piece that opens a turn arrived in this process (called in arrival order,
        before the update waits for anything). Updates of one batch run side by side, so
        the first part of a paste may reach storage after the short tail behind it asks
        whether a turn is open: the mark answers yes."""
        if not self.enabled:
            return
        self._marks[key] = time.monotonic()
        self._marks.move_to_end(key)
        while len(self._marks) > MAX_MARKS:
            self._marks.popitem(last=False)

    def _marked(self, key: PieceKey) -> bool:
        at = self._marks.get(key)
        return at is not None and time.monotonic() - at < 2 * self.window + 1

    async def is_open(self, key: PieceKey) -> bool:
        """A turn of ``key`` is being collected, so the next piece joins it. A collection
        whose last piece is more than a couple of windows old is being answered (or was
        left): a new message does not wait for it."""
        if not self.enabled:
            return False
        if self._marked(key):
            return True
        since = self._clock() - timedelta(seconds=2 * self.window + 1)
        try:
            return await self._repo.is_open(str(key), since=since)
        except StorageUnavailable:
            return False

    async def add(self, key: PieceKey, piece: TurnPiece) -> PieceTicket | None:
        """Collect ``piece``; None when it cannot be collected (database down, store full):
        the caller answers it on its own rather than lose it."""
        try:
            return await self._repo.add(
                str(key),
                piece,
                max_pieces=self.max_pieces,
                now=self._clock(),
                stale_after=STALE_AFTER_SECONDS,
            )
        except StorageUnavailable:
            log.warning("input: piece of %s not collected, database unavailable", key.user_id)
            return None

    async def settle(self, key: PieceKey, ticket: PieceTicket) -> CollectedTurn | None:
        """Wait the quiet window, then take the turn if ``ticket``'s piece is still the
        last one. None: a later piece's handler answers it."""
        await asyncio.sleep(self.window)
        turn = await self._repo.claim(str(key), ticket.collection, ticket.version)
        if turn is not None:
            self._marks.pop(key, None)  # answered: the next message is a new turn
        return turn
