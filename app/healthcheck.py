"""Container health probe (`python -m app.healthcheck`), kept free of heavy imports.

Webhook mode: /healthz must answer 200. Polling mode: the bot touches a heartbeat file
while its polling loop is alive; a stale file means the process hangs."""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from pathlib import Path

HEARTBEAT_FILE = Path(os.environ.get("BOT_HEARTBEAT_FILE", "/tmp/tg-llm-bot.heartbeat"))
HEARTBEAT_MAX_AGE = 120.0


def check() -> bool:
    if os.environ.get("TELEGRAM_MODE", "polling") == "webhook":
        port = os.environ.get("WEBHOOK_PORT", "8080")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as r:
                return bool(r.status == 200)
        except OSError:
            return False
    try:
        return time.time() - HEARTBEAT_FILE.stat().st_mtime < HEARTBEAT_MAX_AGE
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(0 if check() else 1)
