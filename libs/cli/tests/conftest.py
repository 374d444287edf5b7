"""The data-discovery service in-process for the `eoplex admin collections ...` tests."""

from collections.abc import AsyncIterator

import pytest

from conftest import Infrastructure
from tests.data_discovery_server import RunningDataDiscovery, running_data_discovery


@pytest.fixture
async def data_discovery(
    infrastructure: Infrastructure, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningDataDiscovery]:
    """data-discovery on a fresh database, where `eoplex admin` finds it (the environment)."""
    async with running_data_discovery(
        mongodb_url=infrastructure.mongodb_url, nats_url=infrastructure.nats_url
    ) as running:
        for name, value in infrastructure.env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("OPENEO_DATA_DISCOVERY_ADDRESS", running.address)
        yield running
