"""Conversations, personas and exports."""
