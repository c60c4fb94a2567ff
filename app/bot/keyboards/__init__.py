"""Inline keyboards and the texts that go with them."""
