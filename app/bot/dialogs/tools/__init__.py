"""/tools dialog."""
