"""Access in Telegram: the gate on every update, the Request access button, the admins' cards."""
