"""Wiring of the executor's `serve` entry point: settings -> gRPC server (health only so far)."""

from eoplex_common.entrypoint import run_service
from eoplex_common.rpc import GrpcService
from eoplex_executor.settings import ExecutorSettings


async def serve(settings: ExecutorSettings) -> None:
    """Run the executor's gRPC server until SIGTERM/SIGINT."""
    grpc_service = GrpcService(
        name="executor", listen=settings.listen, grace_seconds=settings.shutdown_grace_seconds
    )
    await grpc_service.run_until_signal()


def main() -> None:
    """Entry point: `python -m eoplex_executor`."""
    run_service(name="executor", settings=ExecutorSettings(), serve=serve)
