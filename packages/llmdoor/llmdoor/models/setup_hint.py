"""Which settings a model's calls depend on: its provider, the variables holding its key
and the ones holding its address. Names only, never values: for telling an admin what to
check when the provider refuses the key or cannot be reached."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llmdoor.models.catalog import LOCAL_PROVIDER_BASES, PROVIDER_KEYS, provider_of

if TYPE_CHECKING:
    from llmdoor.settings import LLMSettings


@dataclass(frozen=True)
class SetupHint:
    model: str
    provider: str
    key_names: tuple[str, ...]  # where its key comes from (empty: a keyless local server)
    base_names: tuple[str, ...]  # where its address comes from (empty: the vendor's own)


def setup_hint(
    model_id: str, settings: LLMSettings | None = None, env: Mapping[str, str] | None = None
) -> SetupHint:
    """The variables that decide where ``model_id``'s calls go and with which key, in the
    order llmdoor and litellm consult them: LLM_API_BASE/LLM_API_KEY (a gateway) win over
    the provider's own variables."""
    env = os.environ if env is None else env
    provider = provider_of(model_id)
    keys = PROVIDER_KEYS.get(provider, ())
    bases = LOCAL_PROVIDER_BASES.get(provider, ())
    if not bases:
        upper = provider.upper()
        # litellm reads <PROVIDER>_API_BASE (and OPENAI_BASE_URL) when the call names none.
        bases = tuple(n for n in (f"{upper}_BASE_URL", f"{upper}_API_BASE") if env.get(n))
    if settings is not None and settings.api_base:
        bases = ("LLM_API_BASE",)
    if settings is not None and settings.api_key is not None:
        keys = ("LLM_API_KEY",)
    elif keys:
        # The one that is set, when any is: that is the one to check.
        keys = tuple(n for n in keys if env.get(n)) or keys
    return SetupHint(model=model_id, provider=provider, key_names=keys, base_names=bases)
