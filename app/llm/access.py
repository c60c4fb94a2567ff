"""Who may call the model: admins, friends (incl. approved users), everyone else denied.

Kept in app.llm (which imports nothing from the bot) so that both the library and the
bot's access layer apply exactly the same rule.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

from pydantic_settings import BaseSettings, SettingsConfigDict

from app.llm.errors import AccessDenied


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


class AccessSettings(BaseSettings):
    # Plain str fields: pydantic-settings would try to JSON-decode a list-typed env var,
    # and "123,@bob" is what people actually write.
    model_config = SettingsConfigDict(env_prefix="ACCESS_", extra="ignore")

    admins: str = ""
    friends: str = ""
    allow_everyone: bool = False
    single_user_mode: bool = False

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


class AccessPolicy:
    """Decides a user's role; `check` raises AccessDenied for anyone below friend."""

    def __init__(self, settings: AccessSettings, is_approved: ApprovedCallback | None = None):
        self.settings = settings
        self._is_approved = is_approved

    async def role(self, user_id: int | None, username: str | None = None) -> Role:
        s = self.settings
        if user_id is None:
            # Library calls without a user: in single-user mode that caller is the owner.
            return Role.ADMIN if s.single_user_mode else Role.STRANGER
        name = normalize_username(username) if username else None
        if user_id in s.admin_ids or (name and name in s.admin_usernames):
            return Role.ADMIN
        if user_id in s.friend_ids or (name and name in s.friend_usernames):
            return Role.FRIEND
        if s.allow_everyone:
            return Role.FRIEND
        if self._is_approved is not None and await self._is_approved(user_id):
            return Role.FRIEND
        return Role.STRANGER

    async def check(self, user_id: int | None, username: str | None = None) -> Role:
        """Return the role (admin or friend) or raise AccessDenied."""
        if user_id is None and not self.settings.single_user_mode:
            raise AccessDenied(
                "No user_id given: pass user_id= (or set ACCESS_SINGLE_USER_MODE=true to "
                "treat calls without a user as the owner's)."
            )
        role = await self.role(user_id, username)
        if role is Role.STRANGER:
            raise AccessDenied(f"User {user_id} may not use the model.", user_id=user_id)
        return role
