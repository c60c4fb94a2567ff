"""Sending under Telegram's limits: the Bot, flood control, the shared send budget with
priorities, typing and streamed answers."""
