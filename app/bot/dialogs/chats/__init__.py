"""/chats dialog."""
