"""ModelService: the catalog each role sees and the one rule for a model choice.

The /model dialog, ``/model <name>`` and the suggestion buttons all ask this service, so a
model a friend cannot pick in the menu cannot be picked by typing or by a forged button
either. Plain inputs and outcomes; the bot layer turns outcomes into texts and keyboards.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from app.storage import Storage
from llmdoor import (
    LLMSettings,
    ModelInfo,
    Role,
    UnknownModel,
    gateway_catalog,
    gateway_shortcuts,
    has_price,
    is_available,
    is_known_provider,
    known_gateway,
    list_models_for,
    litellm_knows_provider,
    merged_shortcuts,
    rate_for,
    resolve_shortcut,
)

# Longer "names" are not model ids; refusing them early keeps replies and storage small.
MAX_NAME_CHARS = 200


class Refusal(StrEnum):
    # Friends: no price, real or fallback (budgets could not count it), a model the discovered
    # gateway does not serve, or a provider the catalog does not know (it could point at
    # endpoints on the bot's host).
    NOT_IN_CATALOG = "not_in_catalog"
    NO_KEY = "no_key"  # the provider has no key (or local address) configured


@dataclass(frozen=True)
class ModelChosen:
    name: str  # as stored: the shortcut when one was used (stable across litellm renames)
    model_id: str


@dataclass(frozen=True)
class ModelUnknown:
    name: str
    suggestions: tuple[str, ...]  # shortcuts the caller's role may pick


@dataclass(frozen=True)
class ModelRefused:
    name: str
    reason: Refusal


ModelChoice = ModelChosen | ModelUnknown | ModelRefused


class ModelService:
    """Built once in ``create_app``; handlers receive it as ``models``."""

    def __init__(
        self, storage: Storage, settings: LLMSettings, env: Mapping[str, str] | None = None
    ) -> None:
        self._storage = storage
        self._settings = settings
        self._env = env  # None: the process environment, read at each call

    @property
    def default_model(self) -> str:
        return self._settings.default_model

    @property
    def _gateway(self) -> bool:
        # One OpenAI-compatible endpoint (LLM_API_BASE) reaches every model with its own key.
        return bool(self._settings.api_base)

    @property
    def _environ(self) -> Mapping[str, str]:
        return os.environ if self._env is None else self._env

    @property
    def _shortcuts(self) -> dict[str, str]:
        # The operator's shortcuts plus the discovered gateway's models.
        return gateway_shortcuts(self._settings)

    async def refresh(self) -> None:
        """Rediscover the gateway's models when the last try is older than the short cache
        (LLM_GATEWAY_CACHE_SECONDS); a no-op without a gateway. Failures keep the last list."""
        found = gateway_catalog(self._settings)
        if found is not None:
            await found.ensure_fresh(self._settings.gateway_cache_seconds)

    def catalog(self, role: Role) -> list[ModelInfo]:
        """The models ``role`` may pick, one per shortcut, in declaration order; with a
        discovered gateway, only what it serves.

        Needs litellm's model map: call ``llmdoor.ensure_loaded()`` first on the event loop.
        """
        models = list_models_for(self._settings, env=self._environ)
        if role is Role.ADMIN:
            return models
        return [m for m in models if self._friend_may_use(m.shortcut, m.model_id)]

    def check(self, name: str, role: Role) -> ModelChoice:
        """Validate a choice without storing it: the one rule for every way of choosing."""
        typed = name.strip()
        try:
            if len(typed) > MAX_NAME_CHARS:
                raise UnknownModel(typed, suggestions=[])
            model_id = resolve_shortcut(typed, self._shortcuts)
        except UnknownModel as exc:
            allowed = {m.shortcut for m in self.catalog(role)}
            suggestions = tuple(s for s in exc.suggestions if s in allowed)
            return ModelUnknown(typed, suggestions)
        key = typed.lower()
        stored = key if key in merged_shortcuts(self._shortcuts) else model_id
        if role is Role.ADMIN:
            # Admins may pick anything litellm can route; a gateway routes everything.
            if not self._gateway and not litellm_knows_provider(model_id):
                return ModelUnknown(stored, ())
        elif not self._in_friends_catalog(key, model_id):
            return ModelRefused(stored, Refusal.NOT_IN_CATALOG)
        if not self._reachable(model_id):
            return ModelRefused(stored, Refusal.NO_KEY)
        return ModelChosen(stored, model_id)

    async def choose(self, user_id: int, name: str, role: Role) -> ModelChoice:
        """Validate and, when allowed, store the user's choice."""
        outcome = self.check(name, role)
        if isinstance(outcome, ModelChosen):
            await self._storage.users.set_model(user_id, outcome.name)
        return outcome

    async def current(self, user_id: int) -> str:
        """The user's chosen model name (as stored), else the default. Read from storage
        rather than the per-update user record, so a pick made in this update shows at once."""
        record = await self._storage.users.get(user_id)
        return (record.model if record else None) or self.default_model

    def resolved(self, name: str) -> str | None:
        """The litellm id behind a stored name (None when it no longer resolves)."""
        try:
            return resolve_shortcut(name, self._shortcuts)
        except UnknownModel:
            return None

    def _reachable(self, model_id: str) -> bool:
        return self._gateway or is_available(model_id, self._environ)

    def _in_friends_catalog(self, name: str | None, model_id: str) -> bool:
        # Priced means a real or a fallback price (LLM_UNPRICED_*_PER_MTOK): budgets count it.
        served = known_gateway(self._settings)
        if served is not None and not served.serves(model_id):
            return False
        return is_known_provider(model_id) and has_price(rate_for(model_id, self._settings))

    def _friend_may_use(self, name: str | None, model_id: str) -> bool:
        return self._in_friends_catalog(name, model_id) and self._reachable(model_id)


__all__ = [
    "MAX_NAME_CHARS",
    "ModelChoice",
    "ModelChosen",
    "ModelRefused",
    "ModelService",
    "ModelUnknown",
    "Refusal",
]
