"""Service functions: verbs that take the acting user, flush, and never commit or read request globals."""
