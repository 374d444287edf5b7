"""eoplex_gateway."""
