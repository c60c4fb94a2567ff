"""Inline mode (``@bot question`` in any chat) and guest mode (the bot mentioned in a chat
it is not a member of): answers streamed into an inline message, as the person who asked."""
