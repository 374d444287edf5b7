"""Wiring of the processes service: settings -> MongoDB, data-discovery's channel -> gRPC
server."""

from functools import partial
from typing import Any

import grpc
from pymongo.asynchronous.database import AsyncDatabase

from eoplex_common.entrypoint import run_service
from eoplex_common.mongo import connect_mongo, service_database
from eoplex_common.rpc import GrpcService, open_channel
from eoplex_common.settings import ServiceAddresses
from eoplex_processes.clients import DataDiscoveryCollections
from eoplex_processes.service import ProcessesService
from eoplex_processes.servicer import ProcessesServicer
from eoplex_processes.settings import ProcessesSettings
from eoplex_processes.store import UserProcessStore
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2_grpc
from eoplex_proto.openeo.processes.v1 import processes_pb2_grpc


async def build_processes_server(
    *,
    settings: ProcessesSettings,
    data_discovery_channel: grpc.aio.Channel,
    database: AsyncDatabase[dict[str, Any]],
) -> GrpcService:
    """A not yet started gRPC server for `openeo.processes.v1`, validating collection ids
    against the catalog behind `data_discovery_channel`, keeping user-defined processes in
    `database` (its indexes are created here)."""
    collections = DataDiscoveryCollections(
        data_discovery_pb2_grpc.DataDiscoveryServiceStub(data_discovery_channel)
    )
    store = UserProcessStore(database)
    await store.ensure_indexes()
    service = ProcessesService(collections=collections, limits=settings.graph_limits(), store=store)
    grpc_service = GrpcService(
        name="processes", listen=settings.listen, grace_seconds=settings.shutdown_grace_seconds
    )
    processes_pb2_grpc.add_ProcessesServiceServicer_to_server(
        ProcessesServicer(service), grpc_service.server
    )
    return grpc_service


async def serve(settings: ProcessesSettings, addresses: ServiceAddresses) -> None:
    """Run the processes service until SIGTERM/SIGINT; fail at start if MongoDB does not answer."""
    mongo = connect_mongo(settings.mongodb_url)
    try:
        database = service_database(mongo, "processes")
        # Ping before serving, so SERVING means the service's own database answers.
        await database.command("ping")
        data_discovery_channel = open_channel(
            service="data-discovery",
            address=addresses.data_discovery_address,
            timeout_seconds=settings.rpc_timeout_seconds,
        )
        try:
            grpc_service = await build_processes_server(
                settings=settings, data_discovery_channel=data_discovery_channel, database=database
            )
            await grpc_service.run_until_signal()
        finally:
            await data_discovery_channel.close()
    finally:
        await mongo.close()


def main() -> None:
    """Entry point: `python -m eoplex_processes`."""
    addresses = ServiceAddresses()
    run_service(
        name="processes", settings=ProcessesSettings(), serve=partial(serve, addresses=addresses)
    )
