"""Fault injection: programmed errors and delays, and a realistic flood limiter.

Both act before a method handler runs; their answers are logged like real ones, with
``ApiCall.injected`` set for programmed faults.
"""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections.abc import Callable
from typing import Any

from .models import ApiCall, FaultRule, FloodLimits
from .wire import MESSAGE_OPS, ApiError, default_description


class _Bucket:
    """Token bucket; ``wait_time`` is 0 when a token is free, else seconds until one is."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate, self.capacity = rate, capacity
        self.tokens, self.stamp = capacity, time.monotonic()

    def wait_time(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class FloodLimiter:
    """Token buckets per chat, per group (per minute) and per bot; ``limits=None`` is off."""

    def __init__(self, limits: FloodLimits | None = None) -> None:
        self.limits = limits
        self.hits = 0  # 429s served by the limiter
        self.events: list[tuple[str, int | None, int]] = []  # (method, chat, retry_after)
        self._buckets: dict[Any, _Bucket] = {}

    def check(self, lname: str, params: dict[str, Any]) -> None:
        """Raise Telegram's 429 if this message operation comes too soon."""
        limits = self.limits
        if limits is None:
            return
        is_draft = lname in ("sendmessagedraft", "sendrichmessagedraft")
        if lname not in MESSAGE_OPS and not (is_draft and limits.count_drafts):
            return
        # An inline message (inline and guest mode) has no chat id: its own bucket.
        chat_id = params.get("chat_id") or params.get("inline_message_id")
        key = ("chat", chat_id)
        if key not in self._buckets:
            is_group = isinstance(chat_id, int) and chat_id < 0
            rate = limits.group_per_minute / 60 if is_group else limits.per_chat_rate
            self._buckets[key] = _Bucket(rate, limits.per_chat_burst)
        if "global" not in self._buckets:
            self._buckets["global"] = _Bucket(limits.global_rate, limits.global_burst)
        chat_bucket, global_bucket = self._buckets[key], self._buckets["global"]
        now = time.monotonic()
        wait = max(chat_bucket.wait_time(now), global_bucket.wait_time(now))
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            self.hits += 1
            self.events.append((lname, chat_id, retry_after))
            raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        chat_bucket.take()
        global_bucket.take()


class FaultInjector:
    """Programmed failures (``fail_next``) and the flood limiter."""

    def __init__(self, flood_limits: FloodLimits | None = None) -> None:
        self.rules: list[FaultRule] = []
        self.flood = FloodLimiter(flood_limits)

    def add(
        self,
        method: str = "*",
        code: int | None = 429,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        times: int | None = 1,
        when: Callable[[dict[str, Any]], bool] | None = None,
        delay: float = 0.0,
    ) -> FaultRule:
        """See :meth:`TelegramEmulator.fail_next`."""
        if code == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = default_description(code, retry_after)
        remaining = sys.maxsize if times is None else times
        rule = FaultRule(method.lower(), code, description, retry_after, remaining, when, delay)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    async def before(self, call: ApiCall) -> None:
        """Apply the first matching rule: wait its delay, then raise its error if it has one."""
        for rule in self.rules:
            if not rule.lose_response and rule.matches(call.method, call.params):
                rule.remaining -= 1
                rule.hits += 1
                if rule.delay:
                    await asyncio.sleep(rule.delay)
                if rule.code is not None:
                    call.injected = True
                    raise ApiError(rule.code, rule.description, rule.retry_after)
                return

    def lose_next(
        self,
        method: str,
        *,
        times: int | None = 1,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> FaultRule:
        """See :meth:`TelegramEmulator.lose_response_next`."""
        remaining = sys.maxsize if times is None else times
        rule = FaultRule(method.lower(), None, "", None, remaining, when, lose_response=True)
        self.rules.append(rule)
        return rule

    def lose(self, call: ApiCall) -> bool:
        """After a call was handled: whether its answer is to be lost."""
        for rule in self.rules:
            if rule.lose_response and rule.matches(call.method, call.params):
                rule.remaining -= 1
                rule.hits += 1
                call.lost = True
                return True
        return False
