"""Reminders in Telegram: /remind, /timezone, and the messages the scheduler sends."""
