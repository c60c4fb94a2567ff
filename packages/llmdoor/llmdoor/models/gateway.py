"""What an OpenAI-compatible gateway (LiteLLM proxy, OpenRouter, vLLM, LM Studio, Ollama)
serves, discovered from the gateway itself.

``GET {base}/v1/models`` is the list every such gateway answers. Richer metadata is used
where present: OpenRouter's ``pricing`` and ``context_length`` fields on that list, and a
LiteLLM proxy's ``GET /model/info`` (prices, context windows, the underlying model). A failed
discovery keeps the last known list and logs a warning; nothing here runs at import time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmdoor.settings import LLMSettings

log = logging.getLogger("llmdoor")

# Gateway models are called through litellm's OpenAI-compatible client with LLM_API_BASE.
ROUTE_PREFIX = "openai/"


@dataclass(frozen=True)
class GatewayModel:
    id: str  # as the gateway names it
    input_per_token: float | None = None  # the gateway's own price, USD
    output_per_token: float | None = None
    context_window: int | None = None
    underlying: str | None = None  # the litellm id the gateway routes to, when it says

    @property
    def model_id(self) -> str:
        """The litellm id that reaches this model through the gateway."""
        return ROUTE_PREFIX + self.id

    @property
    def priced(self) -> bool:
        return self.input_per_token is not None or self.output_per_token is not None


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    number = _float(value)
    return int(number) if number else None


def parse_models(payload: Any) -> dict[str, GatewayModel]:
    """``/v1/models``: ids, plus OpenRouter's ``pricing`` (USD per token, as strings)."""
    rows = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(rows, list):
        raise ValueError("no 'data' list in /v1/models")
    models: dict[str, GatewayModel] = {}
    for row in rows:
        if not isinstance(row, dict) or not isinstance(row.get("id"), str):
            continue
        pricing = _dict(row.get("pricing"))
        models[row["id"]] = GatewayModel(
            id=row["id"],
            input_per_token=_float(pricing.get("prompt")),
            output_per_token=_float(pricing.get("completion")),
            context_window=_int(row.get("context_length")),
        )
    return models


def merge_model_info(models: dict[str, GatewayModel], payload: Any) -> dict[str, GatewayModel]:
    """A LiteLLM proxy's ``/model/info`` adds prices, context windows and the underlying id."""
    rows = payload.get("data") if isinstance(payload, dict) else None
    merged = dict(models)
    for row in rows if isinstance(rows, list) else []:
        name = row.get("model_name") if isinstance(row, dict) else None
        if name not in merged:
            continue
        info = _dict(row.get("model_info"))
        params = _dict(row.get("litellm_params"))
        old = merged[name]
        underlying = params.get("model")
        merged[name] = GatewayModel(
            id=name,
            input_per_token=_float(info.get("input_cost_per_token")) or old.input_per_token,
            output_per_token=_float(info.get("output_cost_per_token")) or old.output_per_token,
            context_window=_int(info.get("max_input_tokens") or info.get("max_tokens"))
            or old.context_window,
            underlying=underlying if isinstance(underlying, str) else old.underlying,
        )
    return merged


class GatewayCatalog:
    """The gateway's models, refreshed on demand (with a short cache) and on a schedule."""

    def __init__(self, base: str, key: str | None, timeout: float = 5.0) -> None:
        root = base.rstrip("/")
        self.root = root[: -len("/v1")] if root.endswith("/v1") else root
        self._key = key
        self._timeout = timeout
        self.models: dict[str, GatewayModel] | None = None  # None until discovery succeeds
        self.fetched_at: float | None = None  # monotonic time of the last attempt
        self._lock = asyncio.Lock()

    async def _get(self, session: Any, path: str) -> Any:
        async with session.get(self.root + path) as response:
            response.raise_for_status()
            return await response.json(content_type=None)

    async def fetch(self) -> dict[str, GatewayModel]:
        import aiohttp  # not at import time: `import llmdoor` stays light

        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            models = parse_models(await self._get(session, "/v1/models"))
            try:
                info = await self._get(session, "/model/info")
            except (aiohttp.ClientError, TimeoutError, ValueError):
                return models  # not a LiteLLM proxy: the list alone
            return merge_model_info(models, info)

    async def refresh(self) -> bool:
        """One discovery; on failure the last known list stays. True when it succeeded."""
        self.fetched_at = time.monotonic()
        import aiohttp

        try:
            models = await self.fetch()
        # An unreachable gateway, or one that answers something unexpected: keep what we know.
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            kept = "no list yet" if self.models is None else f"kept {len(self.models)} models"
            log.warning(
                "gateway discovery at %s failed (%s: %s); %s",
                self.root,
                type(exc).__name__,
                str(exc)[:200],
                kept,
            )
            return False
        self.models = models
        return True

    async def ensure_fresh(self, max_age: float) -> None:
        """Refresh unless the last attempt is younger than ``max_age`` seconds."""
        async with self._lock:
            if self.fetched_at is None or time.monotonic() - self.fetched_at >= max_age:
                await self.refresh()

    async def run_periodically(self, interval: float) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(interval)

    def get(self, model_id: str) -> GatewayModel | None:
        """The served model behind a litellm id (``openai/x``, ``x`` or a provider id)."""
        if not self.models:
            return None
        if model_id in self.models:
            return self.models[model_id]
        _, sep, rest = model_id.partition("/")
        return self.models.get(rest) if sep else None

    def serves(self, model_id: str) -> bool:
        return self.get(model_id) is not None


# One catalog per gateway, shared by the bot and library callers with the same settings.
_CATALOGS: dict[tuple[str, str | None], GatewayCatalog] = {}


def catalog_for(settings: LLMSettings) -> GatewayCatalog | None:
    """The gateway catalog when a gateway is configured (LLM_API_BASE + LLM_API_KEY) and
    discovery is on, else None (the litellm catalog applies)."""
    if not (settings.api_base and settings.api_key and settings.gateway_discovery):
        return None
    key = settings.api_key.get_secret_value()
    found = _CATALOGS.get((settings.api_base, key))
    if found is None:
        found = GatewayCatalog(settings.api_base, key, settings.gateway_timeout)
        _CATALOGS[(settings.api_base, key)] = found
    return found


def known(settings: LLMSettings) -> GatewayCatalog | None:
    """The gateway catalog once a discovery has succeeded."""
    found = catalog_for(settings)
    return found if found is not None and found.models is not None else None


def gateway_shortcuts(settings: LLMSettings) -> dict[str, str]:
    """The operator's shortcuts plus one per served model no shortcut points at."""
    shortcuts = dict(settings.shortcuts)
    found = known(settings)
    if found is None or not found.models:
        return shortcuts
    from llmdoor.models.shortcuts import merged_shortcuts

    covered = {found.get(target) for target in merged_shortcuts(shortcuts).values()}
    for model in found.models.values():
        name = model.id.lower()
        if model not in covered and name not in shortcuts:
            shortcuts[name] = model.model_id
    return shortcuts


def served_models(settings: LLMSettings) -> Mapping[str, GatewayModel] | None:
    found = known(settings)
    return None if found is None else found.models
