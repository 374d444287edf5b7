"""Wiring of the processes service: settings -> MongoDB -> gRPC server (health only so far)."""

import asyncio

from eoplex_common.logs import configure_logging
from eoplex_common.mongo import connect_mongo, service_database
from eoplex_common.rpc import GrpcService
from eoplex_common.tracing import configure_tracing
from eoplex_processes.settings import ProcessesSettings


async def serve(settings: ProcessesSettings) -> None:
    """Run the processes service until SIGTERM/SIGINT; fail at start if MongoDB does not answer."""
    mongo = connect_mongo(settings.mongodb_url)
    try:
        # Ping before serving, so SERVING means the service's own database answers.
        await service_database(mongo, "processes").command("ping")
        grpc_service = GrpcService(
            name="processes", listen=settings.listen, grace_seconds=settings.shutdown_grace_seconds
        )
        await grpc_service.run_until_signal()
    finally:
        await mongo.close()


def main() -> None:
    """Entry point: `python -m eoplex_processes`."""
    settings = ProcessesSettings()
    configure_logging(service="processes", level=settings.log_level, fmt=settings.log_format)
    configure_tracing(service="processes", otlp_endpoint=settings.otlp_endpoint)
    asyncio.run(serve(settings))
