"""Wiring of the executor's `serve` entry point: settings -> gRPC server (health only so far)."""

import asyncio

from eoplex_common.logs import configure_logging
from eoplex_common.rpc import GrpcService
from eoplex_common.tracing import configure_tracing
from eoplex_executor.settings import ExecutorSettings


async def serve(settings: ExecutorSettings) -> None:
    """Run the executor's gRPC server until SIGTERM/SIGINT."""
    grpc_service = GrpcService(
        name="executor", listen=settings.listen, grace_seconds=settings.shutdown_grace_seconds
    )
    await grpc_service.run_until_signal()


def main() -> None:
    """Entry point: `python -m eoplex_executor`."""
    settings = ExecutorSettings()
    configure_logging(service="executor", level=settings.log_level, fmt=settings.log_format)
    configure_tracing(service="executor", otlp_endpoint=settings.otlp_endpoint)
    asyncio.run(serve(settings))
