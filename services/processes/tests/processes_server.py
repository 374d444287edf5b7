"""The processes service in-process for tests: a real gRPC server and a stub talking to it.

Used by the processes service's tests and the gateway's `/processes` tests.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import grpc

from eoplex_common.rpc import GrpcService, open_channel
from eoplex_processes.server import build_processes_server
from eoplex_processes.settings import ProcessesSettings
from eoplex_proto.openeo.processes.v1 import processes_pb2_grpc


@dataclass
class RunningProcesses:
    """A started processes service and a stub talking to it."""

    server: GrpcService
    processes: processes_pb2_grpc.ProcessesServiceStub

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.port}"


@asynccontextmanager
async def running_processes(
    *, catalog_address: str, settings: ProcessesSettings | None = None
) -> AsyncIterator[RunningProcesses]:
    """Start the processes service, checking collections in the catalog at `catalog_address`."""
    settings = settings or ProcessesSettings()
    settings = settings.model_copy(update={"listen": "127.0.0.1:0", "shutdown_grace_seconds": 0.1})
    catalog_channel = open_channel(
        service="data-discovery", address=catalog_address, timeout_seconds=5
    )
    server = build_processes_server(settings=settings, catalog_channel=catalog_channel)
    await server.start()
    channel: grpc.aio.Channel = open_channel(
        service="processes", address=f"127.0.0.1:{server.port}", timeout_seconds=10
    )
    try:
        yield RunningProcesses(server, processes_pb2_grpc.ProcessesServiceStub(channel))
    finally:
        await channel.close()
        await server.stop()
        await catalog_channel.close()
