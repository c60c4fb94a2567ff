"""`python -m app`: run the bot."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from app.config import Settings

# litellm would otherwise fetch its price map from the internet at import time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def _secret_values(settings: Settings) -> list[str | None]:
    """Every secret the process knows: settings plus provider keys read by litellm."""
    values: list[str | None] = [
        s.get_secret_value() if s else None
        for s in (settings.telegram.bot_token, settings.webhook.secret, settings.llm.api_key)
    ]
    if settings.storage.uri:
        values.append(urlsplit(settings.storage.uri.get_secret_value()).password)
    values += [v for k, v in os.environ.items() if k.endswith(("_API_KEY", "_TOKEN", "_SECRET"))]
    return values


def main() -> int:
    # litellm reads provider keys (OPENAI_API_KEY, ...) from os.environ only, so a .env
    # file must land there too; real environment variables win.
    from dotenv import load_dotenv

    load_dotenv(".env", override=False)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError

    from app.bot.factory import ConfigError
    from app.bot.runner import run
    from app.config import load_settings
    from app.log_redaction import install as install_redaction

    settings = load_settings()
    install_redaction(_secret_values(settings))
    try:
        asyncio.run(run(settings))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TelegramUnauthorizedError:
        print(
            "error: Telegram rejected TELEGRAM_BOT_TOKEN (check it with @BotFather).",
            file=sys.stderr,
        )
        return 2
    except TelegramNetworkError as exc:
        print(f"error: cannot reach the Telegram Bot API: {exc.message}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
