"""Who may call the model: admins, friends (incl. approved users), everyone else denied.

Kept in llmdoor (which imports nothing from the bot) so that both the library and the
bot's access layer apply exactly the same rule.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from llmdoor.errors import AccessDenied

log = logging.getLogger(__name__)


class Role(StrEnum):
    ADMIN = "admin"
    FRIEND = "friend"
    STRANGER = "stranger"


def _split(raw: str) -> tuple[frozenset[int], frozenset[str]]:
    """'123, @Bob ,alice' -> ({123}, {'bob', 'alice'})."""
    ids: set[int] = set()
    names: set[str] = set()
    for item in raw.replace(";", ",").replace(" ", ",").split(","):
        item = item.strip()
        if not item:
            continue
        if item.lstrip("-").isdigit():
            ids.add(int(item))
        else:
            names.add(normalize_username(item))
    return frozenset(ids), frozenset(names)


def normalize_username(name: str) -> str:
    return name.strip().lstrip("@").lower()


@dataclass(frozen=True)
class Caller:
    """Who a model call is made for, decided once per update (or per library call) and
    passed down, so the provider and the budget need no further user lookups."""

    user_id: int | None
    role: Role
    username: str | None = None
    # The caller's daily budget in USD, already resolved (per-user value, else the default
    # for non-admins); None: unlimited.
    daily_budget_usd: float | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@runtime_checkable
class CallerResolver(Protocol):
    """The one authority on roles: turns a user id (and username) into a Caller."""

    async def resolve(self, user_id: int | None, username: str | None = None) -> Caller: ...


class AccessSettings(BaseSettings):
    # Plain str fields: pydantic-settings would try to JSON-decode a list-typed env var,
    # and "123,@bob" is what people actually write.
    model_config = SettingsConfigDict(env_prefix="ACCESS_", env_file=".env", extra="ignore")

    admins: str = ""
    friends: str = ""
    allow_everyone: bool = False
    single_user_mode: bool = False
    # Daily budget of everyone who is not an admin; None (empty) = unlimited. Per-user
    # values set in /access override it.
    default_daily_budget_usd: float | None = None

    @field_validator("default_daily_budget_usd", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def admin_ids(self) -> frozenset[int]:
        return _split(self.admins)[0]

    @property
    def admin_usernames(self) -> frozenset[str]:
        return _split(self.admins)[1]

    @property
    def friend_ids(self) -> frozenset[int]:
        return _split(self.friends)[0]

    @property
    def friend_usernames(self) -> frozenset[str]:
        return _split(self.friends)[1]

    @property
    def is_configured(self) -> bool:
        """Whether any access rule was set (start-up can warn when none is)."""
        return bool(
            self.admins.strip()
            or self.friends.strip()
            or self.allow_everyone
            or self.single_user_mode
        )


ApprovedCallback = Callable[[int], Awaitable[bool]]
# Binds a configured @username to the id that first shows up with it and returns the id it
# is bound to (the bot stores bindings; the library keeps them in the process).
UsernameBinder = Callable[[str, int], Awaitable[int]]


class AccessPolicy:
    """The one rule for roles, used by the library and by the bot alike.

    Admins and friends come from the settings (numeric ids, or ``@username`` entries bound
    to the first id seen with that name: a later account with the same name gets nothing),
    then ``allow_everyone``, then approvals. ``check`` raises AccessDenied below friend.
    """

    def __init__(
        self,
        settings: AccessSettings,
        is_approved: ApprovedCallback | None = None,
        *,
        bind_username: UsernameBinder | None = None,
    ) -> None:
        self.settings = settings
        self._is_approved = is_approved
        self._bind = bind_username
        # Bindings never move, so each name costs one storage round trip per process.
        self._bound: dict[str, int] = {}

    async def _name_belongs_to(self, name: str, user_id: int) -> bool:
        bound = self._bound.get(name)
        if bound is None:
            bound = await self._bind(name, user_id) if self._bind is not None else user_id
            self._bound[name] = bound
        if bound != user_id:
            log.warning(
                "access: @%s is bound to id %s; id %s now uses that name and is not trusted",
                name,
                bound,
                user_id,
            )
            return False
        return True

    def bound_usernames(self) -> dict[str, int]:
        """The bindings this process knows (for /access)."""
        return dict(self._bound)

    async def role(
        self, user_id: int | None, username: str | None = None, *, approved: bool | None = None
    ) -> Role:
        """``approved``: the caller already knows (from the user record it loaded); None:
        ask the ``is_approved`` callback, if any."""
        s = self.settings
        if user_id is None:
            # Library calls without a user: in single-user mode that caller is the owner.
            return Role.ADMIN if s.single_user_mode else Role.STRANGER
        if user_id in s.admin_ids:
            return Role.ADMIN
        name = normalize_username(username) if username else None
        if name and name in s.admin_usernames and await self._name_belongs_to(name, user_id):
            return Role.ADMIN
        if user_id in s.friend_ids:
            return Role.FRIEND
        if name and name in s.friend_usernames and await self._name_belongs_to(name, user_id):
            return Role.FRIEND
        if s.allow_everyone:
            return Role.FRIEND
        if approved is None and self._is_approved is not None:
            approved = await self._is_approved(user_id)
        return Role.FRIEND if approved else Role.STRANGER

    async def resolve(
        self,
        user_id: int | None,
        username: str | None = None,
        *,
        approved: bool | None = None,
        budget_usd: float | None = None,
    ) -> Caller:
        """The Caller for a model call; ``budget_usd`` is the user's own daily budget, if
        set (it overrides ACCESS_DEFAULT_DAILY_BUDGET_USD; admins have none by default)."""
        role = await self.role(user_id, username, approved=approved)
        if budget_usd is None and role is not Role.ADMIN:
            budget_usd = self.settings.default_daily_budget_usd
        return Caller(user_id=user_id, role=role, username=username, daily_budget_usd=budget_usd)

    def ensure_allowed(self, caller: Caller) -> None:
        """Raise AccessDenied unless the caller is an admin or a friend."""
        if caller.user_id is None and not self.settings.single_user_mode:
            raise AccessDenied(
                "No user_id given: pass user_id= (or set ACCESS_SINGLE_USER_MODE=true to "
                "treat calls without a user as the owner's)."
            )
        if caller.role is Role.STRANGER:
            raise AccessDenied(
                f"User {caller.user_id} may not use the model.", user_id=caller.user_id
            )

    async def check(self, user_id: int | None, username: str | None = None) -> Role:
        """Return the role (admin or friend) or raise AccessDenied."""
        caller = await self.resolve(user_id, username)
        self.ensure_allowed(caller)
        return caller.role
