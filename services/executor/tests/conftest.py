"""Executor tests: the processes registered as the entry points register them, an environment
for process tests, and every environment a test made is closed after it (its UDF processes
stop)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

import eoplex_executor.processes  # noqa: F401  (registers every process)
from eoplex_executor.engine.environment import Environment
from services.executor.tests.cubes import close_environments, make_environment


@pytest.fixture
def env(tmp_path: Path) -> Environment:
    """An environment writing into the test's `tmp_path`."""
    return make_environment(tmp_path)


@pytest.fixture(autouse=True)
def closed_environments() -> Iterator[None]:
    yield
    close_environments()
