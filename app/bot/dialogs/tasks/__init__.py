"""/tasks: the user's reminders and scheduled prompts."""
