"""Suite-wide fixtures: one MongoDB-wire server per session (SecantusDB on 127.0.0.1, or the
real mongod named by TEST_MONGODB_URI), shared by the storage contract and end-to-end tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from llmdoor import warm_up
from tests import loopback_only
from tests.fakes.openai_server import FakeOpenAI
from tests.storage.mongo_server import MongoTarget, mongo_target

# litellm would otherwise try to download its price map at import time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def pytest_configure(config: pytest.Config) -> None:
    # Before any test opens a socket: nothing a test does may leave this machine.
    loopback_only.install()
    config.addinivalue_line("markers", "mongodb: needs a MongoDB server (SecantusDB or real)")
    config.addinivalue_line(
        "markers",
        "package: builds llmdoor's wheel and installs it in a fresh venv with uv (minutes "
        "on a slow box; fails without uv)",
    )


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeOpenAI]:
    """The OpenAI-compatible fake that litellm reaches through api_base (one per session)."""
    # Import litellm once up front (seconds), so no test spends its wait budget on it.
    warm_up()
    with FakeOpenAI() as server:
        yield server


@pytest.fixture(scope="session")
def mongo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoTarget]:
    with mongo_target(tmp_path_factory.mktemp("mongo-data")) as target:
        yield target
