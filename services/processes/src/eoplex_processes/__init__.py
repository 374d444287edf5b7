"""eoplex_processes."""
