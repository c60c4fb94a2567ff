"""Chat in Telegram: the text router, the answer buttons and /stop, where a message
belongs, and the sink an answer streams into."""
