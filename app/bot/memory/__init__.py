"""Personal memory in Telegram: /remember, /forgetme, the undo of a fact the model kept
(the /memory menu is a dialog: app.bot.dialogs.memory)."""
