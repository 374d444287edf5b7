"""Executor tests: every environment a test made is closed after it (its UDF processes stop)."""

from collections.abc import Iterator

import pytest

from services.executor.tests.cubes import close_environments


@pytest.fixture(autouse=True)
def closed_environments() -> Iterator[None]:
    yield
    close_environments()
