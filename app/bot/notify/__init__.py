"""Messages the bot sends on its own initiative (cards, notifications)."""
