"""eoplex_jobs."""
