"""/persona dialog."""
