"""`python -m app`: run the bot."""

from __future__ import annotations

import asyncio
import logging
import os
import sys

# litellm would otherwise fetch its price map from the internet at import time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def main() -> int:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from app.bot.factory import ConfigError
    from app.bot.runner import run
    from app.config import load_settings

    settings = load_settings()
    try:
        asyncio.run(run(settings))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
