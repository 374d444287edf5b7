"""Fixtures of the catalog's tests: the service in-process on a fresh database."""

from collections.abc import AsyncIterator

import pytest

from conftest import Infrastructure
from tests.catalog_server import RunningCatalog, running_catalog


@pytest.fixture
async def catalog(infrastructure: Infrastructure) -> AsyncIterator[RunningCatalog]:
    async with running_catalog(
        mongodb_url=infrastructure.mongodb_url, nats_url=infrastructure.nats_url
    ) as running:
        yield running
