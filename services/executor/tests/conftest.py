"""Executor tests: the processes registered as the entry points register them, an environment
for process tests, and every environment a test made is closed after it (its UDF processes
stop); the guard proxies load_stac started stop with the session."""

from collections.abc import Iterator
from pathlib import Path

import pytest

import eoplex_executor.processes  # noqa: F401  (registers every process)
from eoplex_executor.engine.environment import Environment
from eoplex_executor.io.outbound import stop_guard_proxies
from services.executor.tests.cubes import close_environments, make_environment


@pytest.fixture
def env(tmp_path: Path) -> Environment:
    """An environment writing into the test's `tmp_path`."""
    return make_environment(tmp_path)


@pytest.fixture(autouse=True)
def closed_environments() -> Iterator[None]:
    yield
    close_environments()


@pytest.fixture(autouse=True, scope="session")
def stopped_guard_proxies() -> Iterator[None]:
    """The proxy processes of load_stac calls with private networks refused (the argument
    sweep's), which would otherwise outlive the session's last test."""
    yield
    stop_guard_proxies()
