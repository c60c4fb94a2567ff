"""Telegram LLM bot."""
