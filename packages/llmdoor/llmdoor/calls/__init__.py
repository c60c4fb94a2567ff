"""The path every model call takes: access, budget, retry, transport to litellm, and the
one usage record at its end."""
