"""Runs `python -m app` as an operator does, with every kind of secret in its environment,
and checks that none of them shows up in anything the process writes."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote_plus

ROOT = Path(__file__).resolve().parents[2]

# Recognisable secrets: shaped like the real ones, so the redaction cannot rely on tests
# using toy values.
BOT_ID = 987654321
TOKEN_SECRET = "AAF-tokenSECRET_0123456789abcdefXYZ"  # 35 characters, as @BotFather's
TOKEN = f"{BOT_ID}:{TOKEN_SECRET}"
OPENAI_KEY = "sk-proj-openaiSECRET0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-api03-anthropicSECRET0123456789"
LLM_KEY = "sk-llmproxySECRET0123456789abcdef"
WEBHOOK_SECRET = "webhookSECRET_0123456789-abcdef"
MONGO_USER = "botuser"
MONGO_PASSWORD = "MongoPassSECRET/0123@456789"  # "/" and "@" must be percent-encoded
MONGO_PASSWORD_IN_URI = quote_plus(MONGO_PASSWORD)

SECRETS = {
    "bot token": TOKEN,
    "bot token's secret part": TOKEN_SECRET,
    "OPENAI_API_KEY": OPENAI_KEY,
    "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
    "LLM_API_KEY": LLM_KEY,
    "WEBHOOK_SECRET": WEBHOOK_SECRET,
    "MongoDB password": MONGO_PASSWORD,
    "MongoDB password, encoded": MONGO_PASSWORD_IN_URI,
}


def mongo_uri(host: str = "127.0.0.1:1", db: str = "bot", password: str = MONGO_PASSWORD) -> str:
    return f"mongodb://{MONGO_USER}:{quote_plus(password)}@{host}/{db}?authSource=admin"


def secret_env(**extra: str) -> dict[str, str]:
    """The process environment: this interpreter's, minus the bot's own settings, plus every
    secret, plus ``extra`` (a value of "" removes the variable)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "ACCESS_", "LLM_", "MONGODB_", "WEBHOOK_", "BOT_"))
        and not k.endswith("_API_KEY")
    }
    env.update(
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LOG_LEVEL="DEBUG",  # the most the process ever logs
        TELEGRAM_BOT_TOKEN=TOKEN,
        OPENAI_API_KEY=OPENAI_KEY,
        ANTHROPIC_API_KEY=ANTHROPIC_KEY,
        LLM_API_KEY=LLM_KEY,
        MONGODB_URI=mongo_uri(),
    )
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}


@dataclass
class Finished:
    code: int | None
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error: ")]


def leaked(text: str) -> list[str]:
    """Names of the secrets found in ``text``."""
    return [name for name, value in SECRETS.items() if value in text]


def assert_nothing_leaked(result: Finished) -> None:
    found = leaked(result.output)
    assert not found, f"leaked {found}:\n{result.output}"


def assert_config_error(result: Finished, expected: str) -> None:
    """Exit code 2, no traceback, and exactly one error line, which says ``expected``."""
    assert result.code == 2, result.output
    assert "Traceback" not in result.output, result.output
    assert len(result.error_lines) == 1, result.output
    assert expected in result.error_lines[0], result.output
    assert_nothing_leaked(result)


async def run_to_exit(cwd: Path, **env: str) -> Finished:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app",
        cwd=cwd,  # no .env there
        env=secret_env(**env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=90)
    return Finished(proc.returncode, out.decode(), err.decode())


@dataclass
class RunningApp:
    """A started `python -m app`. Its stdout and stderr (the log) are drained from the
    start, so a chatty process (DEBUG logging) never blocks on a full pipe."""

    proc: asyncio.subprocess.Process
    log: list[str] = field(default_factory=list)
    out: list[str] = field(default_factory=list)
    _readers: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        assert self.proc.stderr is not None and self.proc.stdout is not None
        self._readers = [
            asyncio.create_task(_collect(self.proc.stderr, self.log)),
            asyncio.create_task(_collect(self.proc.stdout, self.out)),
        ]

    async def wait_for_log(self, marker: str, within: float = 60) -> None:
        async def seen() -> None:
            while not any(marker in line for line in self.log):
                if self._readers[0].done():
                    raise AssertionError(f"bot exited before {marker!r}:\n" + "".join(self.log))
                await asyncio.sleep(0.05)

        await asyncio.wait_for(seen(), within)

    async def stop(self, within: float = 60) -> Finished:
        """SIGTERM, then everything the process still writes until it exits."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(self.proc.wait(), within)
        await asyncio.wait_for(asyncio.gather(*self._readers), within)
        return Finished(self.proc.returncode, "".join(self.out), "".join(self.log))


async def _collect(stream: asyncio.StreamReader, into: list[str]) -> None:
    while raw := await stream.readline():
        into.append(raw.decode())


async def start(cwd: Path, **env: str) -> RunningApp:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app",
        cwd=cwd,
        env=secret_env(**env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    return RunningApp(proc)
