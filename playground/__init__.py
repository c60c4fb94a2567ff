"""A try-it-without-Telegram playground: the real bot against the Telegram emulator of the
tests, chatted with in a browser. A development and demo tool: not part of the app nor of
the Docker image."""
