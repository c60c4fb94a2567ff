"""Webhook delivery mode (a mixin of TelegramEmulator)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any

from aiohttp import ClientSession

from .models import (
    WebhookDelivery,
)
from .wire import _update_type


class WebhookMixin:
    """Pushes pending updates to the webhook URL(s), round-robin, with the secret header."""

    _webhook: dict[str, Any]
    _deliver_urls: list[str]
    _deliver_secret: str | None
    _rr: int
    _pending: list[dict[str, Any]]
    _allowed_updates: frozenset[str]
    _inflight: set[int]
    _closing: bool
    _changed: asyncio.Event
    _client: ClientSession | None
    _delivery_tasks: set[asyncio.Task[None]]
    webhook_deliveries: list[WebhookDelivery]

    if TYPE_CHECKING:

        def _notify(self) -> None: ...
        async def execute(self, method: str, params: dict[str, Any]) -> Any: ...

    # ---------------------------------------------------------------- webhook

    def _webhook_targets(self) -> tuple[list[str], str | None, int]:
        if self._deliver_urls:
            secret = self._deliver_secret or self._webhook.get("secret_token")
            return self._deliver_urls, secret, int(self._webhook.get("max_connections", 40))
        if self._webhook.get("url"):
            return (
                [self._webhook["url"]],
                self._webhook.get("secret_token"),
                self._webhook["max_connections"],
            )
        return [], None, 0

    async def _delivery_loop(self) -> None:
        """Push pending updates to the webhook URL(s) while webhook mode is on."""
        while not self._closing:
            urls, _secret, max_conn = self._webhook_targets()
            if urls and self._pending and len(self._inflight) < max_conn:
                update = self._pending.pop(0)
                if _update_type(update) not in self._allowed_updates:
                    continue
                url = urls[self._rr % len(urls)]
                self._rr += 1
                self._inflight.add(update["update_id"])
                task = asyncio.create_task(self._deliver(update, url))
                self._delivery_tasks.add(task)
                task.add_done_callback(self._delivery_tasks.discard)
                continue
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), 0.1)

    async def _deliver(self, update: dict[str, Any], url: str) -> None:
        assert self._client is not None
        try:
            for attempt in range(5):  # Telegram retries failed deliveries with backoff
                _urls, secret, _ = self._webhook_targets()
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                try:
                    async with self._client.post(url, json=update, headers=headers) as resp:
                        body = await resp.read()
                        self.webhook_deliveries.append(
                            WebhookDelivery(update["update_id"], url, resp.status)
                        )
                        if resp.status < 300:
                            await self._webhook_reply(body)
                            return
                except Exception as exc:  # connection refused etc.: retry like Telegram
                    self.webhook_deliveries.append(
                        WebhookDelivery(update["update_id"], url, None, repr(exc))
                    )
                await asyncio.sleep(0.05 * 2**attempt)
                urls, _, _ = self._webhook_targets()
                if urls:
                    url = urls[self._rr % len(urls)]
                    self._rr += 1
        finally:
            self._inflight.discard(update["update_id"])
            self._notify()

    async def _webhook_reply(self, body: bytes) -> None:
        """A webhook response may carry one method call (aiogram's in-response reply)."""
        if not body:
            return
        with contextlib.suppress(ValueError):
            payload = json.loads(body)
            if isinstance(payload, dict) and isinstance(payload.get("method"), str):
                method = payload.pop("method")
                await self.execute(method, payload)


# ------------------------------------------------------------------- helpers
