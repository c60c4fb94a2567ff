"""`python -m app` as a user runs it: a clear error without a token; with one it starts,
registers its commands, says it is ready, answers, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from tests.e2e.conftest import ADMIN_ID, FRIEND_ID
from tests.fakes.openai_server import FakeOpenAI
from tests.tg_emulator.server import TelegramEmulator

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "ACCESS_", "LLM_", "MONGODB_", "WEBHOOK_", "BOT_"))
    }
    env.update(LITELLM_LOCAL_MODEL_COST_MAP="True", PYTHONUNBUFFERED="1", **extra)
    return env


async def test_missing_token_is_a_clear_error(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app",
        cwd=tmp_path,  # no .env there
        env=_env(PYTHONPATH=str(ROOT)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in err.decode()
    assert "Traceback" not in err.decode()


async def test_runs_answers_and_stops_on_sigterm(
    tg: TelegramEmulator, fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    secret = "sk-very-secret-key-123"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app",
        cwd=tmp_path,
        env=_env(
            PYTHONPATH=str(ROOT),
            TELEGRAM_BOT_TOKEN=tg.token,
            TELEGRAM_API_BASE=tg.base_url,
            ACCESS_ADMINS=str(ADMIN_ID),
            ACCESS_FRIENDS=str(FRIEND_ID),
            LLM_DEFAULT_MODEL="openai/fake-model",
            LLM_API_BASE=fake_llm.base_url,
            LLM_API_KEY=secret,
            LOG_LEVEL="DEBUG",
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []

    async def read_until(marker: str) -> None:
        while True:
            raw = await proc.stdout.readline()  # type: ignore[union-attr]
            if not raw:
                raise AssertionError("bot exited early:\n" + "".join(lines))
            lines.append(raw.decode())
            if marker in lines[-1]:
                return

    try:
        await asyncio.wait_for(read_until("ready"), timeout=60)
        assert "IN-MEMORY" in "".join(lines)
        assert tg.commands(language_code="ru") is not None
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("hello from a process")
        reply = await tg.wait_for_message(
            friend.id, lambda m: m.text == "echo: hello from a process", timeout=30
        )
        assert reply is not None
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
        lines.append(rest.decode())
    log = "".join(lines)
    assert proc.returncode == 0, log
    assert "usage records flushed" in log
    assert secret not in log and tg.token not in log


async def test_sigterm_lets_the_answer_in_progress_finish(
    tg: TelegramEmulator, fake_llm: FakeOpenAI, tmp_path: Path
) -> None:
    from tests.fakes.openai_server import Reply

    fake_llm.script(Reply(text="slow but complete answer", chunk_size=4, chunk_delay=0.15))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app",
        cwd=tmp_path,
        env=_env(
            PYTHONPATH=str(ROOT),
            TELEGRAM_BOT_TOKEN=tg.token,
            TELEGRAM_API_BASE=tg.base_url,
            ACCESS_FRIENDS=str(FRIEND_ID),
            LLM_DEFAULT_MODEL="openai/fake-model",
            LLM_API_BASE=fake_llm.base_url,
            LLM_API_KEY="sk-test",
            # One answer, one usage record: no title call after it (tests of their own).
            CONVERSATIONS_AUTO_TITLE="false",
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    while not any("ready" in line for line in lines):
        raw = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        assert raw, "".join(lines)
        lines.append(raw.decode())
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("take your time")
    await tg.wait_until(lambda: fake_llm.chat_requests, timeout=30)
    proc.send_signal(signal.SIGTERM)  # mid-answer
    rest, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    log = "".join(lines) + rest.decode()
    assert proc.returncode == 0, log
    assert [m.text for m in friend.chat.bot_messages] == ["slow but complete answer"]
    assert "written=1" in log, log
