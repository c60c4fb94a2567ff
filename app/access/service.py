"""Access requests and decisions. Returns outcomes; the bot layer talks to Telegram.

A stranger asks, every admin is to get an Approve/Deny card, one admin decides, every card
is to be updated and the user told. Decisions are atomic in storage, so a replayed or
concurrent press decides nothing twice, and only an admin can decide at all. Sending the
cards is claimed atomically too, so any number of bot instances send one set per request.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from app.access.authority import AccessAuthority
from app.storage import AccessRequest, AdminCard, RequestStatus, Storage, UserRecord
from llmdoor import Role

log = logging.getLogger(__name__)

MAX_BUDGET_USD = 100_000.0


class RequestOutcome(StrEnum):
    CREATED = "created"  # the admins in ``notify`` are to get a card
    PENDING = "pending"  # an earlier request is still open: coalesced, nobody re-notified
    COOLDOWN = "cooldown"  # denied recently; may ask again later
    ALREADY_ALLOWED = "already_allowed"
    NO_ADMINS = "no_admins"  # nobody could be notified (no reachable admin)
    TOO_MANY = "too_many"  # the cap on pending requests is reached: try later


class DecisionOutcome(StrEnum):
    DECIDED = "decided"
    ALREADY_DECIDED = "already_decided"
    NOT_ADMIN = "not_admin"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class RequestResult:
    outcome: RequestOutcome
    request: AccessRequest | None = None
    notify: tuple[int, ...] = ()  # admin chat ids to send the card to


@dataclass(frozen=True)
class DecisionResult:
    outcome: DecisionOutcome
    request: AccessRequest | None = None
    # Set when this call made the decision: cards to edit and the user to tell.
    cards: tuple[AdminCard, ...] = field(default_factory=tuple)
    tell_user: int | None = None


def parse_budget(text: str) -> float:
    """'2.5', '$2.50', '2,50' -> 2.5. Raises ValueError for anything not a sane amount."""
    cleaned = text.strip().lstrip("$").strip().replace(",", ".").replace(" ", "")
    value = float(cleaned)
    if not math.isfinite(value) or value < 0 or value > MAX_BUDGET_USD:
        raise ValueError(text)
    return round(value, 6)


class AccessService:
    def __init__(
        self,
        *,
        storage: Storage,
        authority: AccessAuthority,
        cooldown: timedelta = timedelta(hours=1),
        max_pending: int = 50,
        delivery_stale_after: timedelta = timedelta(minutes=2),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._storage = storage
        self.authority = authority
        self._cooldown = cooldown
        self._max_pending = max_pending
        self._stale_after = delivery_stale_after
        self._clock = clock

    # ------------------------------------------------------------------ the request side

    async def request_access(self, user: UserRecord, role: Role) -> RequestResult:
        if role is not Role.STRANGER:
            return RequestResult(RequestOutcome.ALREADY_ALLOWED)
        requests = self._storage.requests
        last = await requests.last_request_for(user.user_id)
        if last is not None and last.status == "pending":
            request = last
        else:
            if (
                last is not None
                and last.status in ("denied", "revoked")
                and last.decided_at is not None
                and self._clock() - last.decided_at < self._cooldown
            ):
                return RequestResult(RequestOutcome.COOLDOWN, last)
            if await requests.count_pending() >= self._max_pending:
                log.warning("access: %s pending requests, refusing new ones", self._max_pending)
                return RequestResult(RequestOutcome.TOO_MANY)
            request, _created = await requests.open_or_get_pending(
                user.user_id, user.username, user.full_name or None
            )
        # New, or pending with no card delivered yet (no admin had opened the bot, or
        # Telegram refused): whoever claims the delivery, on whichever instance, sends it.
        if not await requests.claim_delivery(request.id, self._stale_after):
            return RequestResult(RequestOutcome.PENDING, request)
        admins = await self.authority.admin_chat_ids()
        if not admins:
            await requests.release_delivery(request.id)
            return RequestResult(RequestOutcome.NO_ADMINS, request)
        return RequestResult(RequestOutcome.CREATED, request, tuple(admins))

    async def card_sent(self, request_id: str, chat_id: int, message_id: int) -> None:
        await self._storage.requests.add_card(request_id, chat_id, message_id)

    async def delivery_failed(self, request_id: str) -> None:
        """No admin got the card: let the next press try again."""
        await self._storage.requests.release_delivery(request_id)

    # ------------------------------------------------------------------ the admin side

    async def decide(
        self, request_id: str, admin_id: int, approve: bool, admin_username: str | None = None
    ) -> DecisionResult:
        if not await self.authority.is_admin(admin_id, admin_username):
            log.warning("access: user %s tried to decide request %s", admin_id, request_id)
            return DecisionResult(DecisionOutcome.NOT_ADMIN)
        status: RequestStatus = "approved" if approve else "denied"
        decided = await self._storage.requests.decide(request_id, status, admin_id)
        if decided is None:
            current = await self._storage.requests.get(request_id)
            if current is None:
                return DecisionResult(DecisionOutcome.UNKNOWN)
            if current.status == "approved":
                # Repairs a decision whose approval write failed after the status write.
                await self._storage.users.set_approved(current.user_id, True)
            return DecisionResult(DecisionOutcome.ALREADY_DECIDED, current)
        if approve:
            await self._storage.users.set_approved(decided.user_id, True)
        return DecisionResult(
            DecisionOutcome.DECIDED, decided, tuple(decided.cards), tell_user=decided.user_id
        )

    async def revoke(self, user_id: int, admin_id: int, admin_username: str | None = None) -> bool:
        if not await self.authority.is_admin(admin_id, admin_username):
            return False
        await self._storage.users.set_approved(user_id, False)
        last = await self._storage.requests.last_request_for(user_id)
        if last is not None and last.status == "approved":
            await self._storage.requests.decide(last.id, "revoked", admin_id)
        return True

    async def set_budget(
        self, user_id: int, usd: float | None, admin_id: int, admin_username: str | None = None
    ) -> UserRecord | None:
        """The one place budgets are written; None when the caller is not an admin."""
        if not await self.authority.is_admin(admin_id, admin_username):
            return None
        if usd is not None and (not math.isfinite(usd) or usd < 0 or usd > MAX_BUDGET_USD):
            raise ValueError(usd)
        return await self._storage.users.set_budget(user_id, usd)

    async def display_name(self, user_id: int | None) -> str:
        if user_id is None:
            return "?"
        record = await self._storage.users.get(user_id)
        if record is None:
            return str(user_id)
        if record.username:
            return "@" + record.username
        return record.full_name or str(user_id)
