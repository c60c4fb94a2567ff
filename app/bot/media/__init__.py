"""Voice, audio, documents and /image, /voice in Telegram."""
