"""Chat calls: plain, streamed and structured answers, inline reasoning, and the history
that fits the context."""
