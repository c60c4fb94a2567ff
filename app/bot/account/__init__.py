"""A user's own commands: /start, /help, /new, /language, /reasoning, /usage, /me, and the
command menu."""
