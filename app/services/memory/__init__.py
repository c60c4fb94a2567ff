"""Personal memory: facts a user asked the bot to keep, in the context of their answers."""
