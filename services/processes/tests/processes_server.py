"""The processes service in-process for tests: a real gRPC server on a fresh MongoDB
database, and a stub talking to it.

Used by the processes service's tests, the gateway's `/processes` and `/process_graphs`
tests and the jobs service's tests.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from conftest import fresh_database, started
from eoplex_common.rpc import GrpcService, open_channel
from eoplex_processes.server import build_processes_server
from eoplex_processes.settings import ProcessesSettings
from eoplex_proto.openeo.processes.v1 import processes_pb2_grpc


@dataclass
class RunningProcesses:
    """A started processes service, a stub talking to it, and its database."""

    server: GrpcService
    processes: processes_pb2_grpc.ProcessesServiceStub
    database: AsyncDatabase[dict[str, Any]]

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.port}"


@asynccontextmanager
async def running_processes(
    *, data_discovery_address: str, mongodb_url: str, settings: ProcessesSettings | None = None
) -> AsyncIterator[RunningProcesses]:
    """Start the processes service, checking collections with the data-discovery service at
    `data_discovery_address` and keeping user-defined processes in a fresh database,
    dropped after."""
    settings = settings or ProcessesSettings()
    settings = settings.model_copy(update={"listen": "127.0.0.1:0", "shutdown_grace_seconds": 0.1})
    async with fresh_database(mongodb_url, "test_processes") as database:
        data_discovery_channel = open_channel(
            service="data-discovery", address=data_discovery_address, timeout_seconds=5
        )
        try:
            server = await build_processes_server(
                settings=settings, data_discovery_channel=data_discovery_channel, database=database
            )
            async with started(server, service="processes") as channel:
                yield RunningProcesses(
                    server, processes_pb2_grpc.ProcessesServiceStub(channel), database
                )
        finally:
            await data_discovery_channel.close()
