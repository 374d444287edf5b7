"""eoplex_capabilities."""
