"""Model Markdown to Telegram text and entities, split into messages; what an answer shows
around its text."""
