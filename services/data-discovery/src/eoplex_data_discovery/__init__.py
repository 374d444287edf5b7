"""eoplex_data_discovery."""
