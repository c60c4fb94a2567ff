"""Operator commands run with ``python -m app.ops.NAME``."""
