"""The data-discovery service in-process for tests: real gRPC server, real MongoDB and NATS.

Used by the data-discovery tests and the gateway's collection tests (a package
directory named `data-discovery` cannot be imported, so it lives here).
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from nats.aio.client import Client as NATS

from conftest import Infrastructure, fresh_database, started
from eoplex_common.events import connect_nats
from eoplex_common.rpc import GrpcService
from eoplex_data_discovery.server import build_data_discovery_server
from eoplex_data_discovery.settings import DataDiscoverySettings
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2 as pb
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2_grpc


@dataclass
class RunningDataDiscovery:
    """A started data-discovery service, a stub talking to it, and a NATS connection for events."""

    server: GrpcService
    channel: grpc.aio.Channel
    stub: data_discovery_pb2_grpc.DataDiscoveryServiceStub
    nats: NATS

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.port}"


@asynccontextmanager
async def running_data_discovery(
    *, mongodb_url: str, nats_url: str
) -> AsyncIterator[RunningDataDiscovery]:
    """Start the data-discovery service on its own fresh database; stop it and drop the
    database after."""
    async with fresh_database(mongodb_url, "test_data_discovery") as database:
        nats = await connect_nats(nats_url, name="data-discovery-test")
        try:
            server = await build_data_discovery_server(
                settings=DataDiscoverySettings(listen="127.0.0.1:0", shutdown_grace_seconds=0.1),
                database=database,
                js=nats.jetstream(),
            )
            async with started(server, service="data-discovery") as channel:
                yield RunningDataDiscovery(
                    server=server,
                    channel=channel,
                    stub=data_discovery_pb2_grpc.DataDiscoveryServiceStub(channel),
                    nats=nats,
                )
        finally:
            await nats.drain()


@pytest.fixture
async def data_discovery(infrastructure: Infrastructure) -> AsyncIterator[RunningDataDiscovery]:
    """The data-discovery service in-process on a fresh database."""
    async with running_data_discovery(
        mongodb_url=infrastructure.mongodb_url, nats_url=infrastructure.nats_url
    ) as running:
        yield running


def collection_document(collection_id: str, **extra: Any) -> dict[str, Any]:
    """A small valid STAC Collection with openEO's datacube metadata, as ingest would send it."""
    return {
        "type": "Collection",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/datacube/v2.2.0/schema.json",
            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
        ],
        "id": collection_id,
        "title": f"Test collection {collection_id}",
        "description": "A collection made by a test.",
        "license": "CC-BY-4.0",
        "extent": {
            "spatial": {"bbox": [[10.0, 46.0, 12.0, 47.0]]},
            "temporal": {"interval": [["2022-05-01T00:00:00Z", "2022-06-01T00:00:00Z"]]},
        },
        "cube:dimensions": {
            "x": {"type": "spatial", "axis": "x", "extent": [10.0, 12.0], "reference_system": 4326},
            "y": {"type": "spatial", "axis": "y", "extent": [46.0, 47.0], "reference_system": 4326},
            "t": {
                "type": "temporal",
                "extent": ["2022-05-01T00:00:00Z", "2022-06-01T00:00:00Z"],
            },
            "bands": {"type": "bands", "values": ["B02", "B04"]},
        },
        "summaries": {
            "eo:bands": [
                {"name": "B02", "common_name": "blue", "center_wavelength": 0.49},
                {"name": "B04", "common_name": "red", "center_wavelength": 0.665},
            ]
        },
        **extra,
    }


def load_and_save(collection_id: str) -> dict[str, Any]:
    """A process that loads the whole collection and saves it as GTiff."""
    return {
        "process_graph": {
            "load": {
                "process_id": "load_collection",
                "arguments": {"id": collection_id, "spatial_extent": None, "temporal_extent": None},
            },
            "save": {
                "process_id": "save_result",
                "arguments": {"data": {"from_node": "load"}, "format": "GTiff"},
                "result": True,
            },
        }
    }


def item_document(
    item_id: str,
    *,
    bbox: tuple[float, float, float, float] = (11.0, 46.0, 11.1, 46.1),
    datetime: str = "2022-05-01T10:00:00Z",
    bands: tuple[str, ...] = ("B02", "B04"),
    **properties: Any,
) -> dict[str, Any]:
    """A STAC Item with one asset per band (asset key = band name)."""
    minx, miny, maxx, maxy = bbox
    ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
    return {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": item_id,
        "bbox": list(bbox),
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"datetime": datetime, **properties},
        "assets": {
            band: {"href": f"s3://bucket/{item_id}/{band}.tif", "roles": ["data"]} for band in bands
        },
        "links": [],
    }


async def register(
    stub: data_discovery_pb2_grpc.DataDiscoveryServiceStub,
    collection: dict[str, Any],
    items: list[dict[str, Any]],
) -> None:
    """Ingest through the data-discovery API: stage, add the items, commit."""
    staged = await stub.StageCollection(
        pb.StageCollectionRequest(collection_json=json.dumps(collection))
    )
    await stub.StageItems(
        pb.StageItemsRequest(
            collection_id=collection["id"],
            version=staged.version,
            items_json=[json.dumps(item) for item in items],
        )
    )
    await stub.CommitCollection(
        pb.CommitCollectionRequest(collection_id=collection["id"], version=staged.version)
    )
