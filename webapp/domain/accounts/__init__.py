"""Sign-in, passwords and API tokens."""
