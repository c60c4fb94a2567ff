"""Users and access requests kept in dicts (conversations: ``conversations``).

Every method runs without an ``await`` between read and write, so on one event loop each
call is atomic, which is what the MongoDB backend gets from single-document updates.
Values handed out are deep copies: callers can't mutate the store behind its back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bson import ObjectId

from app.storage.base import (
    AccessRequest,
    AdminCard,
    RequestStatus,
    UserPrefs,
    UserRecord,
    utc_ms,
)


def _new_id() -> str:
    return str(ObjectId())


class MemoryUserRepository:
    def __init__(self) -> None:
        self._users: dict[int, UserRecord] = {}

    async def get(self, user_id: int) -> UserRecord | None:
        user = self._users.get(user_id)
        return user.model_copy(deep=True) if user else None

    async def upsert_seen(
        self,
        user_id: int,
        username: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> UserRecord:
        now = utc_ms()
        user = self._users.get(user_id)
        if user is None:
            user = UserRecord(user_id=user_id, first_seen=now, last_seen=now)
            self._users[user_id] = user
        user.username = username
        user.first_name = first_name
        user.last_name = last_name
        user.language_code = language_code
        user.last_seen = now
        return user.model_copy(deep=True)

    def _ensure(self, user_id: int) -> UserRecord:
        user = self._users.get(user_id)
        if user is None:
            now = utc_ms()
            user = self._users[user_id] = UserRecord(user_id=user_id, first_seen=now, last_seen=now)
        return user

    async def set_model(self, user_id: int, model: str | None) -> UserRecord:
        user = self._ensure(user_id)
        user.model = model
        return user.model_copy(deep=True)

    async def set_language(self, user_id: int, language: str | None) -> UserRecord:
        user = self._ensure(user_id)
        user.language = language
        return user.model_copy(deep=True)

    async def set_budget(self, user_id: int, usd: float | None) -> UserRecord:
        user = self._ensure(user_id)
        user.daily_budget_usd = usd
        return user.model_copy(deep=True)

    async def set_prefs(self, user_id: int, **changes: object) -> UserRecord:
        user = self._ensure(user_id)
        user.prefs = UserPrefs.model_validate(user.prefs.model_dump() | changes)
        return user.model_copy(deep=True)

    async def set_approved(self, user_id: int, approved: bool) -> UserRecord:
        user = self._ensure(user_id)
        user.approved = approved
        return user.model_copy(deep=True)

    async def is_approved(self, user_id: int) -> bool:
        user = self._users.get(user_id)
        return bool(user and user.approved)

    async def list_approved(self) -> list[UserRecord]:
        return [u.model_copy(deep=True) for _, u in sorted(self._users.items()) if u.approved]

    async def find_by_username(self, username: str) -> UserRecord | None:
        wanted = username.lstrip("@").lower()
        if not wanted:
            return None
        # Usernames move between accounts: the one seen most recently holds it now.
        holders = [u for u in self._users.values() if (u.username or "").lower() == wanted]
        if not holders:
            return None
        newest = max(holders, key=lambda u: (u.last_seen, -u.user_id))
        return newest.model_copy(deep=True)


class MemoryAccessRequestRepository:
    def __init__(self) -> None:
        self._requests: dict[str, AccessRequest] = {}  # insertion order == creation order
        self._claimed_at: dict[str, datetime] = {}  # delivery claims (not part of the model)

    async def open_or_get_pending(
        self, user_id: int, username: str | None, full_name: str | None
    ) -> tuple[AccessRequest, bool]:
        for req in self._requests.values():
            if req.user_id == user_id and req.status == "pending":
                return req.model_copy(deep=True), False
        req = AccessRequest(
            id=_new_id(),
            user_id=user_id,
            username=username,
            full_name=full_name,
            created_at=utc_ms(),
        )
        self._requests[req.id] = req
        return req.model_copy(deep=True), True

    async def last_request_for(self, user_id: int) -> AccessRequest | None:
        last = None
        for req in self._requests.values():
            if req.user_id == user_id:
                last = req
        return last.model_copy(deep=True) if last else None

    async def get(self, request_id: str) -> AccessRequest | None:
        req = self._requests.get(request_id)
        return req.model_copy(deep=True) if req else None

    async def decide(
        self, request_id: str, status: RequestStatus, admin_id: int
    ) -> AccessRequest | None:
        req = self._requests.get(request_id)
        if req is None or status == "pending":
            return None
        allowed_from = ("pending", "approved") if status == "revoked" else ("pending",)
        if req.status not in allowed_from:
            return None
        req.status = status
        self._claimed_at.pop(request_id, None)
        req.decided_by = admin_id
        req.decided_at = utc_ms()
        return req.model_copy(deep=True)

    async def add_card(self, request_id: str, chat_id: int, message_id: int) -> None:
        req = self._requests.get(request_id)
        if req is not None:
            req.cards.append(AdminCard(chat_id=chat_id, message_id=message_id))

    async def list_pending(self) -> list[AccessRequest]:
        return [r.model_copy(deep=True) for r in self._requests.values() if r.status == "pending"]

    async def count_pending(self) -> int:
        return sum(1 for r in self._requests.values() if r.status == "pending")

    async def claim_delivery(self, request_id: str, stale_after: timedelta) -> bool:
        req = self._requests.get(request_id)
        if req is None or req.status != "pending" or req.cards:
            return False
        now = utc_ms()
        claimed = self._claimed_at.get(request_id)
        if claimed is not None and claimed > now - stale_after:
            return False
        self._claimed_at[request_id] = now
        return True

    async def release_delivery(self, request_id: str) -> None:
        req = self._requests.get(request_id)
        if req is not None and not req.cards:
            self._claimed_at.pop(request_id, None)
