"""Wiring of the data-discovery service: settings -> MongoDB -> gRPC server (health only so far)."""

import asyncio

from eoplex_common.logs import configure_logging
from eoplex_common.mongo import connect_mongo, service_database
from eoplex_common.rpc import GrpcService
from eoplex_common.tracing import configure_tracing
from eoplex_data_discovery.settings import DataDiscoverySettings


async def serve(settings: DataDiscoverySettings) -> None:
    """Run the catalog service until SIGTERM/SIGINT; fail at start if MongoDB does not answer."""
    mongo = connect_mongo(settings.mongodb_url)
    try:
        # Ping before serving, so SERVING means the service's own database answers.
        await service_database(mongo, "data-discovery").command("ping")
        grpc_service = GrpcService(
            name="data-discovery",
            listen=settings.listen,
            grace_seconds=settings.shutdown_grace_seconds,
        )
        await grpc_service.run_until_signal()
    finally:
        await mongo.close()


def main() -> None:
    """Entry point: `python -m eoplex_data_discovery`."""
    settings = DataDiscoverySettings()
    configure_logging(service="data-discovery", level=settings.log_level, fmt=settings.log_format)
    configure_tracing(service="data-discovery", otlp_endpoint=settings.otlp_endpoint)
    asyncio.run(serve(settings))
