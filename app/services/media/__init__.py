"""Voice, documents, pictures and spoken replies, and the limits on what the bot accepts."""
