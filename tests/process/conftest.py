"""Fixtures for `python -m app` runs: the emulator knows the recognisable token, MongoDB
knows the recognisable password."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from tests.e2e.conftest import fake_llm as fake_llm  # the same fake, reset per test
from tests.process.harness import (
    MONGO_PASSWORD,
    MONGO_USER,
    TOKEN,
    Finished,
    mongo_uri,
    run_to_exit,
)
from tests.storage.mongo_server import MongoTarget, fresh_db_name
from tests.tg_emulator.fixtures import running_emulator
from tests.tg_emulator.server import TelegramEmulator


@pytest_asyncio.fixture
async def tg() -> AsyncIterator[TelegramEmulator]:
    async with running_emulator(token=TOKEN) as emu:
        yield emu


@pytest.fixture(scope="session")
def mongo_with_password(mongo: MongoTarget) -> str:
    """A MONGODB_URI that logs in with the recognisable password (a user is created)."""
    from pymongo import MongoClient
    from pymongo.errors import OperationFailure

    client: MongoClient[dict[str, object]] = MongoClient(mongo.uri, serverSelectionTimeoutMS=10_000)
    try:
        client.admin.command("createUser", MONGO_USER, pwd=MONGO_PASSWORD, roles=["root"])
    except OperationFailure as exc:
        if exc.code != 51003:  # the user exists already (a reused real mongod)
            raise
    finally:
        client.close()
    return mongo_uri(host=urlsplit(mongo.uri).netloc.rsplit("@", 1)[-1], db=fresh_db_name("proc"))


RunApp = Callable[..., Awaitable[Finished]]


@pytest.fixture
def run_app(mongo_with_password: str, tmp_path: Path) -> RunApp:
    """``await run_app(VAR=value, ...)``: `python -m app` to its exit, with every secret in
    its environment and a MongoDB that accepts the password, so that a start-up that gets
    past its settings reaches Telegram (where the token would leak) and not a dead database.
    """

    async def run(**env: str) -> Finished:
        return await run_to_exit(tmp_path, **{"MONGODB_URI": mongo_with_password, **env})

    return run
