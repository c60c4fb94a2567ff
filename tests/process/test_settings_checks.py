"""The start-up checks one by one, in process: what passes, what is refused, and that no
message repeats the value it refuses."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from app.config import (
    AccessSettings,
    BotSettings,
    ConfigError,
    LLMSettings,
    env_name,
    http_url_problems,
    load_settings,
    mongodb_uri_problems,
    token_problems,
    webhook_secret_problems,
)
from app.log_redaction import RedactSecretsFilter, secrets_in_environment
from tests.process.harness import MONGO_PASSWORD, MONGO_PASSWORD_IN_URI, TOKEN, mongo_uri
from tests.tg_emulator.server import TelegramEmulator


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> pytest.MonkeyPatch:
    import os

    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "ACCESS_", "LLM_", "MONGODB_", "WEBHOOK_", "BOT_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]  # no .env here
    return monkeypatch


@pytest.mark.parametrize(
    "token",
    [
        TOKEN,  # @BotFather's shape: 35 characters after the colon
        TelegramEmulator().token,  # what the test emulator uses
        "123456:probe-token",
        f"  {TOKEN}\n",  # stray whitespace around it in .env is forgiven (and stripped)
    ],
)
def test_real_and_test_tokens_are_valid(token: str) -> None:
    assert token_problems(SecretStr(token)) == []


@pytest.mark.parametrize(
    "token",
    [
        "987654321",  # the id alone
        "AAF-tokenSECRET_0123456789abcdefXYZ",  # the secret alone
        f"bot{TOKEN}",
        f"'{TOKEN}'",
        TOKEN.replace(":", " "),
        "987654321:short",
        TOKEN + "/",
    ],
)
def test_malformed_tokens_are_refused_without_being_echoed(token: str) -> None:
    problems = token_problems(SecretStr(token))
    assert len(problems) == 1 and "TELEGRAM_BOT_TOKEN is malformed" in problems[0]
    assert "AAF-tokenSECRET" not in problems[0] and "987654321" not in problems[0]


@pytest.mark.parametrize(
    "url",
    ["http://localhost:8081", "https://tg.example.com/api", "http://127.0.0.1:8081/"],
)
def test_http_urls_pass(url: str) -> None:
    assert http_url_problems("TELEGRAM_API_BASE", url) == []


@pytest.mark.parametrize(
    "url",
    [
        "host:8081",
        "localhost",
        "ftp://host",
        "http://",
        f"localhost:8081/bot{TOKEN}",
        "http://host:port",
    ],
)
def test_urls_without_http_scheme_or_port_are_refused(url: str) -> None:
    problems = http_url_problems("TELEGRAM_API_BASE", url)
    assert len(problems) == 1 and problems[0].startswith("TELEGRAM_API_BASE ")
    assert TOKEN not in problems[0]


def test_mongodb_srv_uri_is_checked_without_dns() -> None:
    # .invalid never resolves: a DNS look-up here would fail the check.
    good = f"mongodb+srv://botuser:{MONGO_PASSWORD_IN_URI}@cluster0.example.invalid/bot"
    assert mongodb_uri_problems(SecretStr(good)) == []
    two_hosts = "mongodb+srv://botuser:pw@a.example.invalid,b.example.invalid/bot"
    assert len(mongodb_uri_problems(SecretStr(two_hosts))) == 1


@pytest.mark.parametrize(
    "uri",
    [
        mongo_uri().replace("mongodb://", "mongodb:/"),
        mongo_uri().replace("mongodb://", "http://"),
        f"mongodb://botuser:{MONGO_PASSWORD}@127.0.0.1/bot",  # not percent-encoded
        mongo_uri(host="127.0.0.1:99999"),
        mongo_uri() + f"&tlsCertificateKeyFilePassword={MONGO_PASSWORD_IN_URI}&tls=maybe",
    ],
)
def test_bad_mongodb_uris_are_refused_without_the_password(uri: str) -> None:
    problems = mongodb_uri_problems(SecretStr(uri))
    assert len(problems) == 1 and problems[0].startswith("MONGODB_URI ")
    assert "MongoPassSECRET" not in problems[0]


def test_webhook_secret_follows_telegrams_rule() -> None:
    assert webhook_secret_problems(SecretStr("abc_DEF-123")) == []
    assert len(webhook_secret_problems(None)) == 1
    refused = webhook_secret_problems(SecretStr("has space s3cr3t-marker"))
    assert len(refused) == 1 and "marker" not in refused[0]
    assert len(webhook_secret_problems(SecretStr("x" * 257))) == 1


def test_webhook_mode_needs_secret_url_and_a_path(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    clean_env.setenv("TELEGRAM_MODE", "webhook")
    clean_env.setenv("WEBHOOK_PATH", "telegram")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert [line.split()[0] for line in str(caught.value).splitlines()] == [
        "WEBHOOK_SECRET",
        "WEBHOOK_URL",
        "WEBHOOK_PATH",
    ]
    clean_env.setenv("WEBHOOK_SECRET", "s3cret")
    clean_env.setenv("WEBHOOK_URL", "https://bot.example.com")
    clean_env.setenv("WEBHOOK_PATH", "/telegram")
    assert load_settings().webhook.path == "/telegram"


def test_env_names_follow_each_parts_prefix() -> None:
    assert env_name(BotSettings, "shutdown_grace_seconds") == "BOT_SHUTDOWN_GRACE_SECONDS"
    assert env_name(LLMSettings, "api_key") == "LLM_API_KEY"
    assert env_name(AccessSettings, "admins") == "ACCESS_ADMINS"


def test_a_bad_value_is_named_never_quoted(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    clean_env.setenv("LLM_TIMEOUT", "sk-proj-SECRETvalue")
    clean_env.setenv("ACCESS_ALLOW_EVERYONE", "sk-ant-SECRETvalue")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    lines = str(caught.value).splitlines()
    assert [line.split(":")[0] for line in lines] == ["ACCESS_ALLOW_EVERYONE", "LLM_TIMEOUT"]
    assert "SECRET" not in str(caught.value)


def test_good_settings_load_with_the_grace_setting(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    clean_env.setenv("BOT_SHUTDOWN_GRACE_SECONDS", "2.5")
    clean_env.setenv("MONGODB_URI", mongo_uri())
    settings = load_settings()
    assert settings.bot.shutdown_grace_seconds == 2.5


def test_environment_secrets_and_url_passwords_are_redacted() -> None:
    env = {
        "OPENAI_API_KEY": "sk-proj-openaiSECRET0123",
        "TELEGRAM_BOT_TOKEN": f" {TOKEN} ",
        "MONGODB_URI": mongo_uri(),
        "HOME": "/home/someone",
    }
    redact = RedactSecretsFilter(secrets_in_environment(env)).redact
    text = (
        f"key sk-proj-openaiSECRET0123 token {TOKEN} decoded {MONGO_PASSWORD} "
        f"uri {mongo_uri()} other mongodb://u:anotherSECRETpw@h/db home /home/someone"
    )
    redacted = redact(text)
    assert "SECRET" not in redacted, redacted
    assert "/home/someone" in redacted and "mongodb://u:***@h/db" in redacted
