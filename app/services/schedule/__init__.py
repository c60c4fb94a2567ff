"""Scheduled work: reminders and prompts that run at a time, exactly once per run."""
