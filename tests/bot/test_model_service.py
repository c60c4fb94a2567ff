"""ModelService: the catalog each role sees and the one validation of a model choice."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.services.models import (
    ModelChosen,
    ModelRefused,
    ModelService,
    ModelUnknown,
    Refusal,
)
from app.storage import Storage, open_memory_storage
from llmdoor import ensure_loaded
from llmdoor.access import Role
from llmdoor.settings import LLMSettings

OPENAI_ONLY = {"OPENAI_API_KEY": "sk-test"}
WITH_OLLAMA = {**OPENAI_ONLY, "OLLAMA_API_BASE": "http://gpu-box:11434"}


@pytest.fixture
async def storage() -> AsyncIterator[Storage]:
    await ensure_loaded()
    storage = open_memory_storage()
    yield storage
    await storage.close()


def service(storage: Storage, env: dict[str, str], **llm: object) -> ModelService:
    return ModelService(storage, LLMSettings(api_base=None, **llm), env=env)  # type: ignore[arg-type]


def test_friends_see_only_priced_models_whose_provider_has_a_key(storage: Storage) -> None:
    models = service(storage, WITH_OLLAMA)
    friend = models.catalog(Role.FRIEND)
    assert friend and {m.provider for m in friend} == {"openai"}
    assert all(m.input_price_per_mtok is not None for m in friend)
    # Admins also see the local models, once their server's address is configured.
    assert {m.provider for m in models.catalog(Role.ADMIN)} == {"openai", "ollama"}
    assert {m.provider for m in service(storage, OPENAI_ONLY).catalog(Role.ADMIN)} == {"openai"}


def test_ollama_shortcuts_only_with_ollama_api_base(storage: Storage) -> None:
    assert "llama3" not in {m.shortcut for m in service(storage, OPENAI_ONLY).catalog(Role.ADMIN)}
    assert "llama3" in {m.shortcut for m in service(storage, WITH_OLLAMA).catalog(Role.ADMIN)}


def test_everything_in_a_roles_catalog_passes_the_check(storage: Storage) -> None:
    models = service(storage, WITH_OLLAMA)
    for role in (Role.FRIEND, Role.ADMIN):
        for info in models.catalog(role):
            assert models.check(info.shortcut or info.model_id, role) == ModelChosen(
                info.shortcut or info.model_id, info.model_id
            )


@pytest.mark.parametrize(
    ("name", "friend", "admin"),
    [
        ("gpt-4o", ModelChosen("gpt-4o", "openai/gpt-4o"), ModelChosen("gpt-4o", "openai/gpt-4o")),
        (
            "openai/gpt-4o",
            ModelChosen("openai/gpt-4o", "openai/gpt-4o"),
            ModelChosen("openai/gpt-4o", "openai/gpt-4o"),
        ),
        # A provider prefix the catalog does not know: refused for friends; litellm cannot
        # route it either, so it is unknown to admins.
        (
            "evil/model",
            ModelRefused("evil/model", Refusal.NOT_IN_CATALOG),
            ModelUnknown("evil/model", ()),
        ),
        # Unpriced (a local server): admins only.
        (
            "llama3",
            ModelRefused("llama3", Refusal.NOT_IN_CATALOG),
            ModelChosen("llama3", "ollama/llama3"),
        ),
        (
            "openai/my-finetune",
            ModelRefused("openai/my-finetune", Refusal.NOT_IN_CATALOG),
            ModelChosen("openai/my-finetune", "openai/my-finetune"),
        ),
        (
            "claude-sonnet",
            ModelRefused("claude-sonnet", Refusal.NO_KEY),
            ModelRefused("claude-sonnet", Refusal.NO_KEY),
        ),
    ],
)
def test_one_rule_per_role(storage: Storage, name: str, friend: object, admin: object) -> None:
    models = service(storage, WITH_OLLAMA)
    assert models.check(name, Role.FRIEND) == friend
    assert models.check(name, Role.STRANGER) == friend  # never more than a friend
    assert models.check(name, Role.ADMIN) == admin


def test_local_model_without_its_address_is_not_reachable(storage: Storage) -> None:
    models = service(storage, OPENAI_ONLY)
    assert models.check("llama3", Role.ADMIN) == ModelRefused("llama3", Refusal.NO_KEY)


def test_unknown_names_suggest_only_what_the_role_may_pick(storage: Storage) -> None:
    models = service(storage, WITH_OLLAMA)
    friend = models.check("lama3", Role.FRIEND)
    admin = models.check("lama3", Role.ADMIN)
    assert isinstance(friend, ModelUnknown) and "llama3" not in friend.suggestions
    assert isinstance(admin, ModelUnknown) and "llama3" in admin.suggestions


def test_overlong_names_are_unknown(storage: Storage) -> None:
    models = service(storage, WITH_OLLAMA)
    assert models.check("openai/" + "x" * 4000, Role.ADMIN) == ModelUnknown(
        "openai/" + "x" * 4000, ()
    )


def test_a_gateway_reaches_every_provider(storage: Storage) -> None:
    models = ModelService(storage, LLMSettings(api_base="http://gw:4000"), env={})
    assert {"openai", "anthropic"} <= {m.provider for m in models.catalog(Role.FRIEND)}
    assert models.check("claude-sonnet", Role.FRIEND) == ModelChosen(
        "claude-sonnet", "anthropic/claude-sonnet-5-5"
    )


async def test_choose_stores_only_allowed_choices(storage: Storage) -> None:
    models = service(storage, WITH_OLLAMA)
    assert await models.current(7) == "gpt-4o-mini"
    assert isinstance(await models.choose(7, "llama3", Role.FRIEND), ModelRefused)
    assert await models.current(7) == "gpt-4o-mini"
    assert await models.choose(7, "GPT-4o", Role.FRIEND) == ModelChosen("gpt-4o", "openai/gpt-4o")
    assert await models.current(7) == "gpt-4o"


def test_unpriced_models_reach_friends_only_with_a_fallback_price(storage: Storage) -> None:
    """Friends pick priced models only; the operator's fallback price (LLM_UNPRICED_*) makes
    unpriced ones priced, but never for a provider the catalog does not know."""
    shortcuts = {"tuned": "openai/my-finetune", "box": "ollama/mistral", "gw": "evil/x"}
    unpriced = service(storage, WITH_OLLAMA, shortcuts=shortcuts)
    friend = {m.shortcut for m in unpriced.catalog(Role.FRIEND)}
    assert not {"tuned", "box", "gw"} & friend
    assert unpriced.check("tuned", Role.FRIEND) == ModelRefused("tuned", Refusal.NOT_IN_CATALOG)

    models = service(
        storage,
        WITH_OLLAMA,
        shortcuts=shortcuts,
        unpriced_input_per_mtok=1.0,
        unpriced_output_per_mtok=2.0,
    )
    friend = {m.shortcut for m in models.catalog(Role.FRIEND)}
    assert {"tuned", "box"} <= friend and "gw" not in friend
    assert models.check("tuned", Role.FRIEND) == ModelChosen("tuned", "openai/my-finetune")
    assert models.check("gw", Role.FRIEND) == ModelRefused("gw", Refusal.NOT_IN_CATALOG)
    assert models.check("openai/my-finetune", Role.FRIEND) == ModelChosen(
        "openai/my-finetune", "openai/my-finetune"
    )
