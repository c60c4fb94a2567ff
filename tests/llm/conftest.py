from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from llmdoor import BudgetExceeded, Caller, InMemoryUsageSink, LLMProvider, LLMSettings
from tests.fakes.openai_server import FakeOpenAI

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

FAKE_MODEL = "openai/fake-model"  # unknown to litellm's map: no price
PRICED_MODEL = "openai/gpt-4o-mini"  # known to the map: cost is computed


@pytest.fixture(scope="session")
def fake_server(fake_llm_server: FakeOpenAI) -> FakeOpenAI:
    return fake_llm_server


@pytest.fixture
def fake(fake_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    fake_server.reset()
    yield fake_server
    fake_server.reset()


@pytest.fixture
def sink() -> InMemoryUsageSink:
    return InMemoryUsageSink()


STREAM_PATHS = ("auto", "off")  # LLM_FAST_STREAM: the direct OpenAI SSE path, litellm's


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that streams runs on every path a stream can take."""
    if "stream_path" not in metafunc.fixturenames:
        return
    if metafunc.module.__name__.endswith("test_fast_stream"):
        return  # compares the two paths inside each test
    try:
        source = inspect.getsource(metafunc.function)
    except OSError:
        return
    if "stream" in source or "_events(" in source:
        metafunc.parametrize("stream_path", STREAM_PATHS, indirect=True)


@pytest.fixture
def stream_path(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "auto"))


@pytest.fixture
def settings(fake: FakeOpenAI, stream_path: str) -> LLMSettings:
    # Tiny backoffs keep retry tests fast; api_base/api_key route everything to the fake.
    return LLMSettings(
        fast_stream=stream_path,  # type: ignore[arg-type]
        default_model=FAKE_MODEL,
        api_base=fake.base_url,
        api_key="sk-test",
        max_retries=2,
        backoff_initial=0.001,
        backoff_max=0.005,
        retry_after_cap=1.0,
        timeout=10,
    )


@pytest.fixture
def make_provider(settings: LLMSettings, sink: InMemoryUsageSink) -> Callable[..., LLMProvider]:
    def make(**kwargs: Any) -> LLMProvider:
        kwargs.setdefault("usage_sink", sink)
        custom = kwargs.pop("settings", None) or settings
        return LLMProvider(custom, **kwargs)

    return make


@pytest.fixture
def provider(make_provider: Callable[..., LLMProvider]) -> LLMProvider:
    return make_provider()


class CountingHold:
    def __init__(self, guard: CountingGuard, caller: Caller, reserved: float | None) -> None:
        self.guard = guard
        self.caller = caller
        self.reserved = reserved
        self.settled: list[float | None] = []

    async def settle(self, cost_usd: float | None) -> None:
        self.settled.append(cost_usd)
        self.guard.reserved -= self.reserved or 0.0
        self.guard.spent += cost_usd or 0.0


class CountingGuard:
    """A BudgetGuard that keeps its books in memory and refuses beyond ``limit``."""

    def __init__(self, limit: float | None = None) -> None:
        self.limit = limit
        self.spent = 0.0
        self.reserved = 0.0
        self.holds: list[CountingHold] = []

    async def reserve(self, caller: Caller, estimate_usd: float | None) -> CountingHold:
        amount = estimate_usd or 0.0
        if self.limit is not None and self.spent + self.reserved + amount > self.limit:
            raise BudgetExceeded("daily budget spent", user_id=caller.user_id)
        self.reserved += amount
        hold = CountingHold(self, caller, estimate_usd)
        self.holds.append(hold)
        return hold

    @property
    def settlements(self) -> list[list[float | None]]:
        return [hold.settled for hold in self.holds]


@pytest.fixture
def guard() -> CountingGuard:
    return CountingGuard()
