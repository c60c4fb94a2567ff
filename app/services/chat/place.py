"""An update's place in the intake (``app.bot.middlewares.intake``), as the chat service
sees it: the intake puts a way to hand the place on into the update's context, and the
service calls :func:`leave_intake` once the answer has started. Kept here, free of
aiogram, so the service does not reach up into the bot layer."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

intake_leave: ContextVar[Callable[[], None] | None] = ContextVar("intake_leave", default=None)


def leave_intake() -> None:
    """The current update's quick part is over: let the next one in. Idempotent; a no-op
    outside the intake (tests, library use)."""
    leave = intake_leave.get()
    if leave is not None:
        leave()
