"""eoplex_auth."""
