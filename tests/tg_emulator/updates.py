"""The updates queue Telegram keeps for the bot, and where it delivers them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from .changes import Changes
from .wire import DEFAULT_ALLOWED, update_type


@dataclass
class WebhookSetting:
    """What setWebhook registered, and the URLs a test told the emulator to use instead."""

    url: str = ""
    secret_token: str | None = None
    max_connections: int = 40
    override_urls: list[str] = field(default_factory=list)  # from deliver_to()
    override_secret: str | None = None

    @property
    def active(self) -> bool:
        """Updates go out by webhook, so getUpdates is refused."""
        return bool(self.url or self.override_urls)

    def register(self, url: str, secret_token: str | None, max_connections: int) -> None:
        self.url, self.secret_token, self.max_connections = url, secret_token, max_connections

    def unregister(self) -> None:
        self.url, self.secret_token, self.max_connections = "", None, 40

    def targets(self) -> tuple[list[str], str | None, int]:
        """(urls, secret header, max parallel deliveries) while webhook mode is on."""
        if self.override_urls:
            secret = self.override_secret or self.secret_token
            return self.override_urls, secret, self.max_connections
        if self.url:
            return [self.url], self.secret_token, self.max_connections
        return [], None, 0


class UpdateQueue:
    """Pending updates, fetched by getUpdates or pushed by the webhook pusher."""

    def __init__(self, changes: Changes) -> None:
        self.pending: list[dict[str, Any]] = []
        self.inflight: set[int] = set()  # update ids posted to a webhook, not yet answered
        self.allowed: frozenset[str] = DEFAULT_ALLOWED
        self.poll_generation = 0  # a newer getUpdates ends an older one with 409
        self.closed = False  # shutting down: long polls return at once
        self.webhook = WebhookSetting()
        self._ids = itertools.count(100_001)
        self._changes = changes

    def enqueue(self, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._ids), **payload}
        self.pending.append(update)
        self._changes.notify()
        return update

    @property
    def count(self) -> int:
        return len(self.pending) + len(self.inflight)

    def allow(self, kinds: Any) -> None:
        """``allowed_updates`` as getUpdates/setWebhook got it; it persists, like Telegram."""
        if isinstance(kinds, list):
            self.allowed = frozenset(kinds) if kinds else DEFAULT_ALLOWED

    def confirm(self, offset: int) -> None:
        """getUpdates' offset: drop what the bot confirmed (a negative offset keeps the tail)."""
        if offset > 0:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        elif offset < 0:
            self.pending = self.pending[offset:]

    def drop_unwanted(self) -> None:
        # Telegram never stores updates of types the bot did not ask for.
        self.pending = [u for u in self.pending if update_type(u) in self.allowed]

    def clear(self) -> None:
        self.pending.clear()
