"""eoplex."""
