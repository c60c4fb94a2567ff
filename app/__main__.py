"""`python -m app`: run the bot.

Secrets never leave the process: the log redaction is installed before anything else runs,
settings are checked before anything uses them, and every line this module writes to
stderr goes through the same redaction. Exit codes (README, "Exit codes"): 0 stopped
cleanly (also by Ctrl-C or SIGTERM once running), 1 unexpected error (logged), 2
configuration (or the token or the MongoDB password refused), 3 the Telegram Bot API or
MongoDB unreachable, 130 interrupted (Ctrl-C) while starting."""

from __future__ import annotations

import sys

try:  # Ctrl-C in the first fraction of a second lands in these imports: quiet too
    import asyncio
    import logging
    import os
except KeyboardInterrupt:
    sys.exit(130)

# litellm would otherwise fetch its price map from the internet at import time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

log = logging.getLogger("app")

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_MONGO_AUTH_FAILED = (18,)  # AuthenticationFailed


def _first_line(exc: BaseException) -> str:
    """A driver error's gist: pymongo appends its whole topology description."""
    text = (str(exc) or type(exc).__name__).splitlines()[0]
    return text.split(" (configured timeouts")[0][:200]


USAGE = """usage: python -m app [--help]

Runs the Telegram bot with the settings from the environment and from .env in the
current directory (see .env.example and the README: TELEGRAM_BOT_TOKEN, ACCESS_ADMINS,
a provider key such as OPENAI_API_KEY, MONGODB_URI).

exit codes:
  0    stopped cleanly (Ctrl-C or SIGTERM while running)
  1    unexpected error (logged)
  2    configuration: a setting is missing or wrong, or Telegram refused the token,
       or MongoDB refused the user name or password
  3    the Telegram Bot API or MongoDB cannot be reached
  130  interrupted (Ctrl-C) while starting
"""


def entry(argv: list[str] | None = None) -> int:
    """The process's exit code. Ctrl-C at any moment, the seconds of imports included,
    ends quietly: no traceback."""
    try:
        args = sys.argv[1:] if argv is None else argv
        if args and args[0] in ("-h", "--help"):
            print(USAGE, end="")
            return 0
        if args:
            print(f"error: unknown argument {args[0]!r}\n\n{USAGE}", end="", file=sys.stderr)
            return 2
        return main()
    except KeyboardInterrupt:
        return 130


def main() -> int:
    # litellm reads provider keys (OPENAI_API_KEY, ...) from os.environ only, so a .env
    # file must land there too; real environment variables win.
    from dotenv import load_dotenv

    load_dotenv(".env", override=False)
    level = os.environ.get("LOG_LEVEL", "INFO").strip().upper()
    if level not in _LOG_LEVELS:
        # Checked here, not in Settings: logging must work before the settings are read.
        print(f"error: LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}.", file=sys.stderr)
        return 2
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.captureWarnings(True)  # warnings printed to stderr would skip the redaction
    from app.log_redaction import install as install_redaction
    from app.log_redaction import secrets_in_environment

    redactor = install_redaction(secrets_in_environment(os.environ))

    def fail(message: str, code: int) -> int:
        for line in message.splitlines():
            print(f"error: {redactor.redact(line)}", file=sys.stderr)
        return code

    from app.config import ConfigError, load_settings

    try:
        settings = load_settings()
    except ConfigError as exc:
        return fail(str(exc), 2)
    redactor.add(
        s.get_secret_value().strip() if s else None
        for s in (settings.telegram.bot_token, settings.webhook.secret, settings.llm.api_key)
    )

    # aiogram takes seconds to import: only after the settings are known to be good.
    from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError
    from pymongo.errors import OperationFailure, PyMongoError

    from app.bot.run.runner import run
    from app.storage.errors import StorageUnavailable

    try:
        asyncio.run(run(settings))
    except ConfigError as exc:
        return fail(str(exc), 2)
    except TelegramUnauthorizedError:
        return fail("Telegram rejected TELEGRAM_BOT_TOKEN (check it with @BotFather).", 2)
    except TelegramNetworkError as exc:
        return fail(f"cannot reach the Telegram Bot API: {exc.message}", 3)
    except OperationFailure as exc:
        if exc.code not in _MONGO_AUTH_FAILED:
            return fail(f"MongoDB refused a command: {_first_line(exc)}", 3)
        return fail("MongoDB refused the user name or password in MONGODB_URI.", 2)
    except (PyMongoError, StorageUnavailable) as exc:
        return fail(f"cannot reach MongoDB (MONGODB_URI): {_first_line(exc)}", 3)
    except KeyboardInterrupt:
        return 130
    except Exception:  # the outermost frame: whatever is left is logged, redacted
        # A traceback printed by Python itself would skip the redaction, so it goes
        # through the log.
        log.critical("stopped by an unexpected error", exc_info=True)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(entry())
    except KeyboardInterrupt:  # between entry() returning and the exit itself
        sys.exit(130)
