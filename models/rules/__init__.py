"""Pure domain rules: no database session, no Flask; plain data in, plain answers out."""
