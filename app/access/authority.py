"""The one authority on who may do what in the bot, built once in ``create_app``.

It wraps ``llmdoor.access.AccessPolicy`` (the rule the library applies too) with the bot's
storage: approvals and budgets come from the user record the middleware already loaded,
and ``@username`` entries of the settings are bound to ids in storage. Dialogs, commands,
middlewares, the budget and the LLM provider all ask this object; none re-derives a role.
"""

from __future__ import annotations

from app.storage import Storage, UserRecord
from llmdoor import AccessPolicy, AccessSettings, Caller, Role


class AccessAuthority:
    def __init__(self, settings: AccessSettings, storage: Storage) -> None:
        self.settings = settings
        self._storage = storage
        self._policy = AccessPolicy(
            settings, storage.users.is_approved, bind_username=storage.identities.bind
        )

    async def caller_for(self, record: UserRecord) -> Caller:
        """The Caller of an update, from the record the middleware loaded: no storage read
        beyond a one-time username binding."""
        return await self._policy.resolve(
            record.user_id,
            record.username,
            approved=record.approved,
            budget_usd=record.daily_budget_usd,
        )

    def caller_without_storage(self, record: UserRecord) -> Caller:
        """The Caller while the database is down: only ids named in the settings (and
        ``allow_everyone``) count, since approvals and name bindings live in storage."""
        s = self.settings
        uid = record.user_id
        if uid in s.admin_ids:
            role = Role.ADMIN
        elif uid in s.friend_ids or s.allow_everyone:
            role = Role.FRIEND
        else:
            role = Role.STRANGER
        budget = None if role is Role.ADMIN else s.default_daily_budget_usd
        return Caller(user_id=uid, role=role, username=record.username, daily_budget_usd=budget)

    async def resolve(self, user_id: int | None, username: str | None = None) -> Caller:
        """CallerResolver for model calls made without a Caller (library-style calls)."""
        record = await self._storage.users.get(user_id) if user_id is not None else None
        if record is None:
            return await self._policy.resolve(user_id, username, approved=False)
        return await self.caller_for(record)

    async def role(self, user_id: int, username: str | None) -> Role:
        """Role of someone the caller has no record of (e.g. an admin pressing a card)."""
        return await self._policy.role(user_id, username)

    async def is_admin(self, user_id: int, username: str | None) -> bool:
        return await self.role(user_id, username) is Role.ADMIN

    async def bound_usernames(self) -> dict[str, int]:
        """Configured @usernames and the ids they are bound to (for /access)."""
        names = self.settings.admin_usernames | self.settings.friend_usernames
        return {n: i for n, i in (await self._storage.identities.bound()).items() if n in names}

    async def admin_chat_ids(self) -> list[int]:
        """Admins listed by id, plus admins listed by @username once bound (Telegram offers
        no way to message a username that never started the bot)."""
        ids = set(self.settings.admin_ids)
        bound = await self.bound_usernames()
        ids.update(uid for name, uid in bound.items() if name in self.settings.admin_usernames)
        return sorted(ids)

    async def budgetable_users(self) -> list[tuple[int, UserRecord | None]]:
        """Users an admin may budget: approved ones plus friends named in the settings (by
        id, or by a bound @username). Admins are never limited, so they are left out."""
        s = self.settings
        found: dict[int, UserRecord | None] = {
            record.user_id: record for record in await self._storage.users.list_approved()
        }
        bound = await self.bound_usernames()
        friend_ids = set(s.friend_ids) | {
            uid for name, uid in bound.items() if name in s.friend_usernames
        }
        for uid in sorted(friend_ids - found.keys()):
            found[uid] = await self._storage.users.get(uid)
        admins = set(await self.admin_chat_ids())
        return [(uid, rec) for uid, rec in sorted(found.items()) if uid not in admins]
