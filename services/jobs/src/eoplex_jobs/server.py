"""Wiring of the jobs service: settings -> MongoDB, NATS JetStream -> gRPC server (health only)."""

from eoplex_common.entrypoint import run_service
from eoplex_common.events import connect_nats
from eoplex_common.mongo import connect_mongo, service_database
from eoplex_common.rpc import GrpcService
from eoplex_jobs.events import ensure_jobs_stream
from eoplex_jobs.settings import JobsSettings


async def serve(settings: JobsSettings) -> None:
    """Run the jobs service until SIGTERM/SIGINT; fail at start if MongoDB or NATS do not answer."""
    mongo = connect_mongo(settings.mongodb_url)
    try:
        # Ping before serving, so SERVING means the service's own database answers.
        await service_database(mongo, "jobs").command("ping")
        nats = await connect_nats(settings.nats_url, name="jobs")
        try:
            await ensure_jobs_stream(nats.jetstream())
            grpc_service = GrpcService(
                name="jobs", listen=settings.listen, grace_seconds=settings.shutdown_grace_seconds
            )
            await grpc_service.run_until_signal()
        finally:
            await nats.close()
    finally:
        await mongo.close()


def main() -> None:
    """Entry point: `python -m eoplex_jobs`."""
    run_service(name="jobs", settings=JobsSettings(), serve=serve)
