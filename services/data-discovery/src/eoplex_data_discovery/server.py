"""Wiring of the data-discovery service: settings -> MongoDB, NATS -> catalog -> gRPC server."""

from typing import Any

from nats.js import JetStreamContext
from pymongo.asynchronous.database import AsyncDatabase

from eoplex_common.entrypoint import run_service
from eoplex_common.events import connect_nats
from eoplex_common.mongo import connect_mongo, service_database
from eoplex_common.rpc import GrpcService
from eoplex_data_discovery.events import CatalogEvents
from eoplex_data_discovery.service import DataDiscoveryService
from eoplex_data_discovery.servicer import DataDiscoveryServicer
from eoplex_data_discovery.settings import DataDiscoverySettings
from eoplex_data_discovery.store import CatalogStore
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2_grpc


async def build_data_discovery_server(
    *,
    settings: DataDiscoverySettings,
    database: AsyncDatabase[dict[str, Any]],
    js: JetStreamContext,
) -> GrpcService:
    """A not yet started gRPC server with the catalog, its indexes and event stream prepared."""
    store = CatalogStore(database=database)
    await store.ensure_indexes()
    events = CatalogEvents(js=js)
    await events.ensure_stream()
    grpc_service = GrpcService(
        name="data-discovery", listen=settings.listen, grace_seconds=settings.shutdown_grace_seconds
    )
    data_discovery_pb2_grpc.add_DataDiscoveryServiceServicer_to_server(
        DataDiscoveryServicer(DataDiscoveryService(store=store, events=events)), grpc_service.server
    )
    return grpc_service


async def serve(settings: DataDiscoverySettings) -> None:
    """Run the data-discovery service until SIGTERM/SIGINT; fail at start if MongoDB or NATS
    is down."""
    mongo = connect_mongo(settings.mongodb_url)
    try:
        nats = await connect_nats(settings.nats_url, name="data-discovery")
        try:
            grpc_service = await build_data_discovery_server(
                settings=settings,
                database=service_database(mongo, "data-discovery"),
                js=nats.jetstream(),
            )
            await grpc_service.run_until_signal()
        finally:
            await nats.drain()
    finally:
        await mongo.close()


def main() -> None:
    """Entry point: `python -m eoplex_data_discovery`."""
    run_service(name="data-discovery", settings=DataDiscoverySettings(), serve=serve)
