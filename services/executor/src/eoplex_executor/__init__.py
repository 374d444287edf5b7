"""eoplex_executor."""
