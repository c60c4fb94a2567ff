"""Webhook delivery: pushes pending updates to the webhook URL(s), round-robin, with the
secret header, retrying like Telegram; a reply in the response body is executed."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientSession, ClientTimeout

from .changes import Changes
from .models import WebhookDelivery
from .updates import UpdateQueue
from .wire import update_type

Execute = Callable[[str, dict[str, Any]], Awaitable[Any]]


class WebhookPusher:
    """Runs while the emulator runs; idle unless setWebhook or ``deliver_to`` gave URLs."""

    def __init__(self, queue: UpdateQueue, changes: Changes, execute: Execute) -> None:
        self._queue, self._changes, self._execute = queue, changes, execute
        self.deliveries: list[WebhookDelivery] = []
        self._rr = 0
        self._client: ClientSession | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._client = ClientSession(timeout=ClientTimeout(total=30))
        self._loop_task = asyncio.create_task(self._run(), name="tg-emu-webhook")

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._client is not None:
            await self._client.close()

    def _next_url(self, urls: list[str]) -> str:
        url = urls[self._rr % len(urls)]
        self._rr += 1
        return url

    async def _run(self) -> None:
        queue = self._queue
        while not queue.closed:
            urls, _secret, max_conn = queue.webhook.targets()
            if urls and queue.pending and len(queue.inflight) < max_conn:
                update = queue.pending.pop(0)
                if update_type(update) not in queue.allowed:
                    continue
                queue.inflight.add(update["update_id"])
                task = asyncio.create_task(self._deliver(update, self._next_url(urls)))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                continue
            await self._changes.wait(0.1)

    async def _deliver(self, update: dict[str, Any], url: str) -> None:
        assert self._client is not None
        update_id = update["update_id"]
        try:
            for attempt in range(5):  # Telegram retries failed deliveries with backoff
                _urls, secret, _ = self._queue.webhook.targets()
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                try:
                    async with self._client.post(url, json=update, headers=headers) as resp:
                        body = await resp.read()
                        self.deliveries.append(WebhookDelivery(update_id, url, resp.status))
                        if resp.status < 300:
                            await self._reply(body)
                            return
                except Exception as exc:  # connection refused etc.: retry like Telegram
                    self.deliveries.append(WebhookDelivery(update_id, url, None, repr(exc)))
                await asyncio.sleep(0.05 * 2**attempt)
                urls, _, _ = self._queue.webhook.targets()
                if urls:
                    url = self._next_url(urls)
        finally:
            self._queue.inflight.discard(update_id)
            self._changes.notify()

    async def _reply(self, body: bytes) -> None:
        """A webhook response may carry one method call (aiogram's in-response reply)."""
        if not body:
            return
        with contextlib.suppress(ValueError):
            payload = json.loads(body)
            if isinstance(payload, dict) and isinstance(payload.get("method"), str):
                method = payload.pop("method")
                await self._execute(method, payload)
