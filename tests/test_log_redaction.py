"""Secrets never reach the logs, even inside third-party exception texts."""

from __future__ import annotations

import logging

import pytest

from app.log_redaction import RedactSecretsFilter

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_bot_token_in_a_file_url_is_masked() -> None:
    redact = RedactSecretsFilter().redact
    text = f"404, message='Not Found', url='http://127.0.0.1:8081/file/bot{TOKEN}/photos/1.jpg'"
    assert TOKEN not in redact(text)
    assert "/file/bot***/photos/1.jpg" in redact(text)
    assert TOKEN not in redact(f"token is {TOKEN}")


def test_configured_secrets_are_masked_in_messages_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "sk-proj-verysecretkey42"
    logger = logging.getLogger("test.redaction")
    redactor = RedactSecretsFilter([secret, None, "short"])
    caplog.handler.addFilter(redactor)
    try:
        try:
            raise RuntimeError(f"auth failed for key {secret} at /bot{TOKEN}/getMe")
        except RuntimeError:
            logger.exception("call failed with %s", secret)
    finally:
        caplog.handler.removeFilter(redactor)
    output = caplog.text
    assert secret not in output and TOKEN not in output
    assert "call failed with ***" in output and "auth failed for key ***" in output
    assert "short" not in redactor._secrets  # too short to mask safely
