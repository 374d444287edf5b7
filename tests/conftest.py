"""Fixtures of the end-to-end tier: the whole local stack (`tests/stack.py`)."""

pytest_plugins = ["tests.stack"]
