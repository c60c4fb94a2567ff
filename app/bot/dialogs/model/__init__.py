"""/model dialog."""
