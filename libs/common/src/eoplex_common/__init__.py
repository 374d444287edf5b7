"""Shared library of the eoplex services: what every service needs, in one place."""
