"""Issue 11, "Secrets never leave the process": `python -m app` through each start-up failure
mode and a normal run, with the bot token, provider keys, LLM_API_KEY and a MongoDB password
in its environment. Nothing it writes (stdout, stderr, the log) may contain any of them, and a
bad setting is one line on stderr and exit code 2."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.e2e.conftest import FRIEND_ID
from tests.fakes.openai_server import FakeOpenAI
from tests.process.conftest import RunApp
from tests.process.harness import (
    LLM_KEY,
    MONGO_PASSWORD,
    MONGO_PASSWORD_IN_URI,
    TOKEN_SECRET,
    WEBHOOK_SECRET,
    assert_config_error,
    assert_nothing_leaked,
    mongo_uri,
    start,
)
from tests.tg_emulator.server import TelegramEmulator


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_api_base_without_scheme_does_not_leak_token(run_app: RunApp) -> None:
    # Before the fix: "error: cannot reach the Telegram Bot API: NonHttpUrlClientError:
    # host:8081/bot<the token>/deleteWebhook" on stderr, exit 3.
    result = await run_app(TELEGRAM_API_BASE="host:8081")
    assert_config_error(result, "TELEGRAM_API_BASE must start with http:// or https://")


async def test_api_base_with_a_bad_port_does_not_leak_token(run_app: RunApp) -> None:
    result = await run_app(TELEGRAM_API_BASE="http://localhost:80a1")
    assert_config_error(result, "TELEGRAM_API_BASE is not a valid URL")


async def test_missing_token_is_one_line(run_app: RunApp) -> None:
    result = await run_app(TELEGRAM_BOT_TOKEN="")
    assert_config_error(result, "TELEGRAM_BOT_TOKEN is not set")


async def test_malformed_token_is_one_line_not_a_traceback(run_app: RunApp) -> None:
    # Before the fix: aiogram's TokenValidationError as a raw traceback, exit 1.
    result = await run_app(TELEGRAM_BOT_TOKEN=f"987654321 {TOKEN_SECRET}")
    assert_config_error(result, "TELEGRAM_BOT_TOKEN is malformed")
    assert "spaces or quotes" in result.error_lines[0]


async def test_token_with_bot_prefix_is_malformed_and_not_echoed(run_app: RunApp) -> None:
    result = await run_app(TELEGRAM_BOT_TOKEN=f"bot987654321:{TOKEN_SECRET}")
    assert_config_error(result, "TELEGRAM_BOT_TOKEN is malformed")
    assert "leading 'bot'" in result.error_lines[0]


async def test_mongodb_uri_with_another_scheme_does_not_leak_password(run_app: RunApp) -> None:
    uri = f"postgres://botuser:{MONGO_PASSWORD_IN_URI}@127.0.0.1:5432/bot"
    result = await run_app(MONGODB_URI=uri)
    assert_config_error(result, "MONGODB_URI must start with mongodb:// or mongodb+srv://")


async def test_unparsable_mongodb_uri_does_not_leak_password(run_app: RunApp) -> None:
    # The password as written in .env by someone who did not percent-encode it: pymongo
    # cannot tell where it ends.
    uri = f"mongodb://botuser:{MONGO_PASSWORD}@127.0.0.1:27017/bot"
    result = await run_app(MONGODB_URI=uri)
    assert_config_error(result, "MONGODB_URI is not a valid MongoDB connection string")


async def test_webhook_without_secret_is_refused(run_app: RunApp) -> None:
    result = await run_app(TELEGRAM_MODE="webhook", WEBHOOK_URL="https://bot.example.com")
    assert_config_error(result, "WEBHOOK_SECRET is not set")


async def test_webhook_without_url_is_refused(run_app: RunApp) -> None:
    result = await run_app(TELEGRAM_MODE="webhook", WEBHOOK_SECRET=WEBHOOK_SECRET)
    assert_config_error(result, "WEBHOOK_URL is not set")


async def test_webhook_secret_telegram_would_refuse_is_not_echoed(run_app: RunApp) -> None:
    result = await run_app(
        TELEGRAM_MODE="webhook",
        WEBHOOK_URL="https://bot.example.com",
        WEBHOOK_SECRET=WEBHOOK_SECRET + "!",
    )
    assert_config_error(result, "WEBHOOK_SECRET may hold only letters, digits")


async def test_non_number_setting_is_one_line_naming_the_variable(run_app: RunApp) -> None:
    # Before the fix: a pydantic traceback quoting the value.
    result = await run_app(WEBHOOK_PORT=TOKEN_SECRET)
    assert_config_error(result, "WEBHOOK_PORT: Input should be a valid integer")


async def test_grace_setting_that_is_not_a_number_names_the_variable(run_app: RunApp) -> None:
    result = await run_app(BOT_SHUTDOWN_GRACE_SECONDS="soon")
    assert_config_error(result, "BOT_SHUTDOWN_GRACE_SECONDS: Input should be a valid number")


async def test_unknown_log_level_is_one_line_not_a_traceback(run_app: RunApp) -> None:
    # Before the fix: logging.basicConfig's ValueError as a traceback, exit 1.
    result = await run_app(LOG_LEVEL="verbose")
    assert_config_error(result, "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")


async def test_all_bad_settings_are_reported_at_once(run_app: RunApp) -> None:
    unparsable = await run_app(TELEGRAM_MODE="hook", WEBHOOK_PORT="x")
    assert unparsable.code == 2, unparsable.output
    assert [line.split(":")[1].strip() for line in unparsable.error_lines] == [
        "TELEGRAM_MODE",
        "WEBHOOK_PORT",
    ]
    # Once every part parses, the checks across settings report all their findings too.
    parsed = await run_app(TELEGRAM_API_BASE="host:8081", TELEGRAM_MODE="webhook")
    assert parsed.code == 2, parsed.output
    assert [line.split()[1] for line in parsed.error_lines] == [
        "TELEGRAM_API_BASE",
        "WEBHOOK_SECRET",
        "WEBHOOK_URL",
    ]
    for finished in (unparsable, parsed):
        assert "Traceback" not in finished.output
        assert_nothing_leaked(finished)


async def test_token_refused_by_telegram_does_not_leak_it(
    tg: TelegramEmulator, run_app: RunApp
) -> None:
    other = "123456789:AAF-anotherTokenSECRET_0123456789ab"
    result = await run_app(TELEGRAM_API_BASE=tg.base_url, TELEGRAM_BOT_TOKEN=other)
    assert result.code == 2, result.output
    assert result.error_lines == [
        "error: Telegram rejected TELEGRAM_BOT_TOKEN (check it with @BotFather)."
    ]
    assert "anotherTokenSECRET" not in result.output
    assert_nothing_leaked(result)


async def test_unreachable_bot_api_does_not_leak_token(run_app: RunApp) -> None:
    result = await run_app(TELEGRAM_API_BASE=f"http://127.0.0.1:{_closed_port()}")
    assert result.code == 3, result.output
    assert len(result.error_lines) == 1, result.output
    assert "cannot reach the Telegram Bot API" in result.error_lines[0]
    assert_nothing_leaked(result)


async def test_mongodb_refusing_the_password_is_one_line_without_it(
    tg: TelegramEmulator, mongo_with_password: str, run_app: RunApp
) -> None:
    wrong_password = "WrongPassSECRET-0123456789"
    wrong = mongo_with_password.replace(MONGO_PASSWORD_IN_URI, wrong_password)
    assert wrong != mongo_with_password
    result = await run_app(TELEGRAM_API_BASE=tg.base_url, MONGODB_URI=wrong)
    assert_config_error(result, "MongoDB refused the user name or password in MONGODB_URI")
    assert wrong_password not in result.output


async def test_unreachable_mongodb_is_one_line_without_the_password(
    tg: TelegramEmulator, run_app: RunApp
) -> None:
    result = await run_app(
        TELEGRAM_API_BASE=tg.base_url,
        MONGODB_URI=mongo_uri(f"127.0.0.1:{_closed_port()}"),
    )
    assert result.code == 3, result.output
    assert "Traceback" not in result.output, result.output
    assert len(result.error_lines) == 1, result.output
    assert "cannot reach MongoDB (MONGODB_URI)" in result.error_lines[0]
    assert_nothing_leaked(result)


async def test_normal_run_and_sigterm_leak_no_secret(
    tg: TelegramEmulator, fake_llm: FakeOpenAI, mongo_with_password: str, tmp_path: Path
) -> None:
    app = await start(
        tmp_path,
        TELEGRAM_API_BASE=tg.base_url,
        MONGODB_URI=mongo_with_password,
        ACCESS_FRIENDS=str(FRIEND_ID),
        LLM_DEFAULT_MODEL="openai/fake-model",
        LLM_API_BASE=fake_llm.base_url,
    )
    try:
        await app.wait_for_log("ready")
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("hello")
        await tg.wait_for_message(friend.id, lambda m: m.text == "echo: hello", timeout=30)
    finally:
        result = await app.stop()
    assert result.code == 0, result.output
    assert "storage=mongodb" in result.output and "usage records flushed" in result.output
    # The model was called with the key: the process had it, and kept it to itself.
    headers = {k.lower(): v for k, v in fake_llm.chat_requests[-1].headers.items()}
    assert headers["authorization"] == f"Bearer {LLM_KEY}"
    assert_nothing_leaked(result)
