"""Wiring of the data-discovery service: settings -> MongoDB, NATS -> catalog -> gRPC server,
and the scheduled refresh of the collections served from external STAC APIs."""

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from nats.js import JetStreamContext
from pymongo.asynchronous.database import AsyncDatabase

from eoplex_common.entrypoint import run_service
from eoplex_common.events import connect_nats
from eoplex_common.mongo import connect_mongo, service_database
from eoplex_common.rpc import GrpcService
from eoplex_common.tasks import stop_task
from eoplex_data_discovery.events import CatalogEvents
from eoplex_data_discovery.service import DataDiscoveryService
from eoplex_data_discovery.servicer import DataDiscoveryServicer
from eoplex_data_discovery.settings import DataDiscoverySettings
from eoplex_data_discovery.stac_api import StacApiCollections
from eoplex_data_discovery.store import CatalogStore
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2_grpc

log = logging.getLogger(__name__)

# How often a replica looks for collections due for their refresh, at most.
REFRESH_POLL_SECONDS = 60.0
MIN_POLL_SECONDS = 0.1


@dataclass
class DataDiscoveryServer:
    """The gRPC server and, in the background, the scheduled refresh of stac-api
    collections: every replica looks for due collections every `poll_seconds` (at most
    a minute, at most the refresh period) and refreshes those it claims."""

    grpc: GrpcService
    stac_api: StacApiCollections
    poll_seconds: float
    _refresher: asyncio.Task[None] | None = field(default=None, init=False)

    @property
    def port(self) -> int:
        """The port the gRPC server listens on once started."""
        return self.grpc.port

    async def start(self) -> None:
        """Serve, and refresh in the background."""
        await self.grpc.start()
        self._refresher = asyncio.create_task(self._refresh_loop(), name="refresh")

    async def stop(self) -> None:
        """Stop serving within the grace period, cancel the refresh (a refresh cut short
        changes nothing: its collection is refreshed at its next due time), close the
        upstream connections."""
        try:
            await self.grpc.stop()
        finally:
            if self._refresher is not None:
                await stop_task(self._refresher)
                self._refresher = None
            await self.stac_api.aclose()

    async def run_until_signal(self) -> None:
        """Serve until SIGTERM or SIGINT, then stop gracefully."""
        self._refresher = asyncio.create_task(self._refresh_loop(), name="refresh")
        try:
            await self.grpc.run_until_signal()
        finally:
            await stop_task(self._refresher)
            self._refresher = None
            await self.stac_api.aclose()

    async def _refresh_loop(self) -> None:
        while True:
            try:
                await self.stac_api.refresh_due_collections()
            except Exception:
                log.warning("the scheduled refresh failed; trying again later", exc_info=True)
            await asyncio.sleep(self.poll_seconds)


async def build_data_discovery_server(
    *,
    settings: DataDiscoverySettings,
    database: AsyncDatabase[dict[str, Any]],
    js: JetStreamContext,
) -> DataDiscoveryServer:
    """A not yet started server with the catalog, its indexes and event stream prepared."""
    store = CatalogStore(database=database)
    await store.ensure_indexes()
    events = CatalogEvents(js=js)
    await events.ensure_stream()
    stac_api = StacApiCollections(
        store=store,
        events=events,
        upstream=settings,
        refresh_seconds=settings.refresh_seconds,
        credentials_dir=settings.credentials_dir,
    )
    grpc_service = GrpcService(
        name="data-discovery", listen=settings.listen, grace_seconds=settings.shutdown_grace_seconds
    )
    data_discovery_pb2_grpc.add_DataDiscoveryServiceServicer_to_server(
        DataDiscoveryServicer(
            DataDiscoveryService(store=store, events=events, stac_api=stac_api), stac_api
        ),
        grpc_service.server,
    )
    return DataDiscoveryServer(
        grpc=grpc_service,
        stac_api=stac_api,
        poll_seconds=max(min(REFRESH_POLL_SECONDS, settings.refresh_seconds), MIN_POLL_SECONDS),
    )


async def serve(settings: DataDiscoverySettings) -> None:
    """Run the data-discovery service until SIGTERM/SIGINT; fail at start if MongoDB or NATS
    is down."""
    mongo = connect_mongo(settings.mongodb_url)
    try:
        nats = await connect_nats(settings.nats_url, name="data-discovery")
        try:
            server = await build_data_discovery_server(
                settings=settings,
                database=service_database(mongo, "data-discovery"),
                js=nats.jetstream(),
            )
            await server.run_until_signal()
        finally:
            await nats.drain()
    finally:
        await mongo.close()


def main() -> None:
    """Entry point: `python -m eoplex_data_discovery`."""
    run_service(name="data-discovery", settings=DataDiscoverySettings(), serve=serve)
