"""How the bot receives updates: long polling and the webhook registration."""

from __future__ import annotations

import asyncio
from typing import Any

from ..state import EmulatorState
from ..wire import ApiError, bad_request, int_param
from .table import Handler, Request

_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)
_SUPERSEDED = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)


async def get_updates(state: EmulatorState, req: Request) -> Any:
    queue, params = state.updates, req.params
    if queue.webhook.active:
        raise ApiError(409, _WEBHOOK_ACTIVE)
    offset = int_param(params, "offset", 0)
    limit = min(max(int_param(params, "limit", 100), 1), 100)
    timeout = max(int_param(params, "timeout", 0), 0)
    queue.allow(params.get("allowed_updates"))
    queue.confirm(offset)
    queue.poll_generation += 1
    generation = queue.poll_generation
    state.changes.notify()  # an older poll must notice it was superseded
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if generation != queue.poll_generation:
            raise ApiError(409, _SUPERSEDED)
        queue.drop_unwanted()
        if queue.pending or queue.closed or loop.time() >= deadline:
            return queue.pending[:limit]
        await state.changes.wait(deadline - loop.time())


async def set_webhook(state: EmulatorState, req: Request) -> Any:
    queue, params = state.updates, req.params
    url = params.get("url") or ""
    if url and not str(url).startswith(("http://", "https://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    if params.get("drop_pending_updates"):
        queue.clear()
    if not url:
        queue.webhook.unregister()
    else:
        max_connections = min(max(int_param(params, "max_connections", 40), 1), 100)
        queue.webhook.register(str(url), params.get("secret_token"), max_connections)
        queue.allow(params.get("allowed_updates"))
    queue.poll_generation += 1  # a pending getUpdates ends with 409, like Telegram
    state.changes.notify()
    return True


async def delete_webhook(state: EmulatorState, req: Request) -> Any:
    state.updates.webhook.unregister()
    if req.params.get("drop_pending_updates"):
        state.updates.clear()
    return True


async def get_webhook_info(state: EmulatorState, req: Request) -> Any:
    queue = state.updates
    info: dict[str, Any] = {
        "url": queue.webhook.url,
        "has_custom_certificate": False,
        "pending_update_count": len(queue.pending),
    }
    if queue.webhook.url:
        info["max_connections"] = queue.webhook.max_connections
        info["allowed_updates"] = sorted(queue.allowed)
    return info


HANDLERS: dict[str, Handler] = {
    "getUpdates": get_updates,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
}
