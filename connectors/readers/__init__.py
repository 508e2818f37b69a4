"""Format readers for source files."""
