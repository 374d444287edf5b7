"""Wiring of the processes service: settings -> MongoDB -> gRPC server (health only so far)."""

from eoplex_common.entrypoint import run_service
from eoplex_common.mongo import connect_mongo, service_database
from eoplex_common.rpc import GrpcService
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
    run_service(name="processes", settings=ProcessesSettings(), serve=serve)
