"""A database outage costs no time: with the production client settings, an answer while
MongoDB is down arrives within the normal latency plus 1 s (the first storage call finds
the database down within MONGODB_TIMEOUT_MS and opens the circuit breaker; every later
storage call is skipped at once until a background probe sees the database back), and the
usage of those answers is stored after recovery."""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from pathlib import Path

import pytest

from app.bot.factory import create_app
from app.bot.run.fsm import make_fsm_storage
from app.storage import open_storage
from llmdoor import AccessSettings
from tests.e2e.conftest import ADMIN_ID, FRIEND_ID
from tests.e2e.test_webhook import mongo_settings
from tests.fakes.openai_server import FakeOpenAI
from tests.storage.mongo_server import SecantusProcess, fresh_db_name, mongo_kind
from tests.tg_emulator import TelegramEmulator
from tests.tg_emulator.fixtures import make_bot, run_polling

log = logging.getLogger(__name__)

FAST_SINK = {"write_timeout": 1.0, "retry_initial": 0.05, "retry_max": 0.3}


async def _timed_answer(tg: TelegramEmulator, user_id: int, text: str) -> float:
    user = tg.user(user_id, "Fred")
    started = time.perf_counter()
    await user.send(text)
    await tg.wait_for_message(user_id, lambda m: m.text == f"echo: {text}", timeout=30)
    return time.perf_counter() - started


@pytest.mark.skipif(mongo_kind() == "real", reason="stops the server: SecantusDB stand-in only")
async def test_answer_during_outage_within_normal_latency_plus_one_second(
    tg: TelegramEmulator, fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    proc = SecantusProcess(tmp_path / "db")
    await proc.astart()
    db = fresh_db_name("outage_latency")
    access = AccessSettings(admins=str(ADMIN_ID), friends=str(FRIEND_ID))
    settings = mongo_settings(tg, fake_llm, proc.uri, db, access=access)
    # What the runner builds: production timeouts, one breaker for repositories and FSM.
    storage = await open_storage(proc.uri, db_name=db, sink_options=FAST_SINK, probe_interval=0.5)
    fsm = make_fsm_storage(proc.uri, db_name=db, breaker=storage.breaker)
    app = create_app(settings, storage=storage, bot=make_bot(tg), fsm_storage=fsm)
    try:
        async with run_polling(app.dispatcher, app.bot, tg, drain_timeout=30):
            normal = [await _timed_answer(tg, FRIEND_ID, f"normal {i}") for i in range(4)]
            # A record follows its answer (the end of the call is read after the final).
            for _ in range(500):
                if storage.usage_sink.written >= len(normal):
                    break
                await asyncio.sleep(0.02)
            written = storage.usage_sink.written
            await proc.astop()
            down = [await _timed_answer(tg, FRIEND_ID, f"down {i}") for i in range(4)]
            baseline = statistics.median(normal)
            log.warning(
                "outage latency: normal median %.3f s (max %.3f s); during the outage "
                "first %.3f s, then max %.3f s",
                baseline,
                max(normal),
                down[0],
                max(down[1:]),
            )
            print(f"normal {normal}, down {down}")
            assert not storage.available
            assert max(down) <= max(normal) + 1.0
            assert max(down[1:]) <= max(normal) + 0.3  # the breaker is open: no waiting

            await proc.astart()
            assert await storage.breaker.wait_available(timeout=30)
            assert await storage.usage_sink.flush(timeout=30)
            assert storage.usage_sink.dropped == 0
            assert await storage.usage.count() == written + len(down)
            back = await _timed_answer(tg, FRIEND_ID, "back again")
            assert back <= max(normal) + 1.0
    finally:
        await fsm.close()
        await storage.close()
        await proc.astop()
