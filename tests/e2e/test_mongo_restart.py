"""Restarts with MongoDB: approvals, chosen models, conversations and budgets survive a
database restart under a running bot, and a bot restart (a new app on the same database).
The storage-level twin of this test is tests/storage/test_restart.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmdoor import AccessSettings, LLMSettings
from tests.e2e.conftest import ADMIN_ID, FAKE_MODEL, STRANGER_ID, usage_recorded
from tests.e2e.test_faults import bot_on_process
from tests.fakes.openai_server import FakeOpenAI
from tests.storage.mongo_server import SecantusProcess, fresh_db_name, mongo_kind
from tests.tg_emulator import EmuMessage, TelegramEmulator

pytestmark = pytest.mark.skipif(
    mongo_kind() == "real", reason="stops the server: SecantusDB stand-in only"
)

THRIFTY_ID = 400  # approved, with a daily budget of $0: every call is over budget


def _settings(fake_llm: FakeOpenAI) -> dict[str, object]:
    return {
        "access": AccessSettings(admins=str(ADMIN_ID)),
        "llm": LLMSettings(
            default_model=FAKE_MODEL,
            api_base=fake_llm.base_url,
            api_key="sk-test",
            shortcuts={"fakebig": "openai/fake-big"},
            # Unpriced models reach friends only at the fallback price; the fake is no gateway.
            unpriced_input_per_mtok=1.0,
            unpriced_output_per_mtok=2.0,
            gateway_discovery=False,
            max_retries=0,
            timeout=5,
        ),
    }


def _echo(text: str):  # type: ignore[no-untyped-def]
    return lambda m: m.text == f"echo: {text}"


async def _check_state(tg: TelegramEmulator, fake_llm: FakeOpenAI, question: str) -> None:
    """The approved user is served with their model and their conversation; the budgeted
    user is still held to their budget."""
    stan = tg.user(STRANGER_ID, "Stan", username="stan")
    await stan.send(question)
    await tg.wait_for_message(stan.id, _echo(question), timeout=20)
    request = fake_llm.chat_requests[-1]
    assert request.json["model"] == "fake-big"  # the model picked before the restart
    contents = [m["content"] for m in request.messages]
    assert "my name is Stan" in contents and "echo: my name is Stan" in contents

    thrifty = tg.user(THRIFTY_ID, "Tom")
    calls = len(fake_llm.chat_requests)
    await thrifty.send("one more?")
    refusal = await tg.wait_for_message(thrifty.id, lambda m: "budget" in m.text, timeout=20)
    assert "budget" in refusal.text and len(fake_llm.chat_requests) == calls


async def test_state_survives_database_and_bot_restarts(
    tg: TelegramEmulator, fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    data_dir, db = tmp_path / "db", fresh_db_name("restart")
    proc = SecantusProcess(data_dir)
    await proc.astart()
    settings = _settings(fake_llm)
    try:
        async with bot_on_process(tg, fake_llm, proc, db, **settings) as app:
            admin = tg.user(ADMIN_ID, "Ada", username="ada")
            stan = tg.user(STRANGER_ID, "Stan", username="stan")
            await admin.send("/start")
            await tg.wait_for_message(admin.id)

            # Approval through Telegram: request, admin card, approve.
            await stan.send("hi")
            refusal = await tg.wait_for_message(stan.id)
            await stan.press(refusal, "🔑 Request access")
            card: EmuMessage = await tg.wait_for_message(
                admin.id, lambda m: "Access request" in m.text
            )
            await admin.press(card, "✅ Approve")
            await tg.wait_for_message(stan.id, lambda m: "approved" in m.text)

            await stan.send("/model fakebig")
            await tg.wait_for_message(stan.id, lambda m: "Model set to fakebig" in m.text)
            await stan.send("my name is Stan")
            await tg.wait_for_message(stan.id, _echo("my name is Stan"))

            await app.storage.users.set_approved(THRIFTY_ID, True)
            await app.storage.users.set_budget(THRIFTY_ID, 0.0)
            await usage_recorded(app.storage, 1)  # Stan's answer: its record follows it
            assert await app.storage.usage_sink.flush(timeout=10)
            usage_before = await app.storage.usage.count()

            # 1. The database restarts under the running bot (same port: the clients
            #    reconnect by themselves).
            await proc.astop()
            await proc.astart()
            # Storage calls made in the gap (a title, a usage record) open the bot's breaker;
            # until its probe sees the database back, Stan's approval can't be checked and
            # he would be asked to retry. The state is what this test is about: wait.
            await app.storage.breaker.probe_now()
            assert await app.storage.breaker.wait_available(timeout=15)
            await _check_state(tg, fake_llm, "still there after the database restart?")
            assert await app.storage.usage_sink.flush(timeout=10)

        # 2. The bot restarts too: a new app instance, a new database process, same data.
        await proc.astop()
        proc = SecantusProcess(data_dir)
        await proc.astart()
        async with bot_on_process(tg, fake_llm, proc, db, **settings) as app:
            assert await app.storage.users.is_approved(STRANGER_ID)
            await _check_state(tg, fake_llm, "and after the bot restart?")
            await usage_recorded(app.storage, usage_before + 2)  # the record follows the answer
            assert await app.storage.usage_sink.flush(timeout=10)
            # every model call of both runs is recorded, none twice
            assert await app.storage.usage.count() == usage_before + 2
    finally:
        await proc.astop()
