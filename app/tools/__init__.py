"""Operator commands run with ``python -m app.tools.NAME``."""
