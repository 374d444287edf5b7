"""Fixtures shared by every test tier: the real infrastructure servers on free loopback ports.

The servers are the same `ProcessSpec`s the local stack runs (`eoplex.servers`),
started once per test session and stopped at its end.
"""

import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from eoplex.probes import grpc_serving
from eoplex.servers import (
    S3_ADMIN_ACTIONS,
    ProcessSpec,
    S3Credentials,
    S3Identity,
    free_port,
    mongodb_spec,
    nats_spec,
    start_process,
    stop_process,
    wait_ready,
    weed_specs,
)
from eoplex_common.mongo import connect_mongo
from eoplex_common.rpc import GrpcService, open_channel

# The end-to-end stack and the in-process data-discovery service, as fixtures for every test tier.
pytest_plugins = ["tests.stack", "tests.data_discovery_server"]


@dataclass(frozen=True)
class Infrastructure:
    """Where the test session's real servers answer, as `OPENEO_*` environment variables."""

    mongodb_url: str
    nats_url: str
    s3_endpoint: str
    s3_credentials: S3Credentials
    log_dir: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "OPENEO_MONGODB_URL": self.mongodb_url,
            "OPENEO_NATS_URL": self.nats_url,
            "OPENEO_S3_ENDPOINT": self.s3_endpoint,
            "OPENEO_S3_ACCESS_KEY": self.s3_credentials.access_key,
            "OPENEO_S3_SECRET_KEY": self.s3_credentials.secret_key,
        }


@pytest.fixture(scope="session")
def infrastructure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infrastructure]:
    """NATS (JetStream), SeaweedFS S3 and SecantusDB, real processes on free ports."""
    root = tmp_path_factory.mktemp("infrastructure")
    credentials = S3Credentials("eoplex-test", secrets.token_urlsafe(16))
    identity = S3Identity("eoplex-test", credentials, S3_ADMIN_ACTIONS)
    nats_password = secrets.token_urlsafe(16)
    mongodb_port, nats_port, s3_port = free_port(), free_port(), free_port()
    specs = [
        mongodb_spec(port=mongodb_port, storage_dir=root / "mongodb"),
        nats_spec(
            port=nats_port,
            monitor_port=free_port(),
            store_dir=root / "nats",
            user="eoplex-test",
            password=nats_password,
        ),
        *weed_specs(s3_port=s3_port, data_dir=root / "s3", identities=[identity]),
    ]
    started: list[tuple[ProcessSpec, subprocess.Popen[bytes]]] = []
    try:
        for spec in specs:
            process = start_process(spec, log_path=root / "logs" / f"{spec.name}.log")
            started.append((spec, process))
            wait_ready(spec, process)
        yield Infrastructure(
            mongodb_url=f"mongodb://127.0.0.1:{mongodb_port}",
            nats_url=f"nats://eoplex-test:{nats_password}@127.0.0.1:{nats_port}",
            s3_endpoint=f"http://127.0.0.1:{s3_port}",
            s3_credentials=credentials,
            log_dir=root / "logs",
        )
    finally:
        for spec, process in reversed(started):
            stop_process(process, stop_signal=spec.stop_signal)


@asynccontextmanager
async def fresh_database(
    mongodb_url: str, prefix: str
) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """A database of its own (`<prefix>_<random>`) for a service under test, dropped after."""
    client = connect_mongo(mongodb_url)
    name = f"{prefix}_{secrets.token_hex(6)}"
    try:
        yield client[name]
    finally:
        await client.drop_database(name)
        await client.close()


@asynccontextmanager
async def started(server: GrpcService, *, service: str) -> AsyncIterator[grpc.aio.Channel]:
    """`server` started, and a channel to it; the channel closed and the server stopped after."""
    await server.start()
    channel = open_channel(service=service, address=f"127.0.0.1:{server.port}", timeout_seconds=10)
    try:
        yield channel
    finally:
        await channel.close()
        await server.stop()


class ServiceProcess:
    """`python -m eoplex_<service>` as a child process on a free port, for process-level tests.

    Entering starts it and waits until its gRPC health check reports SERVING; leaving
    sends SIGTERM and waits for the exit, whose status is then `returncode`.
    """

    def __init__(self, service: str, *, env: Mapping[str, str], log_dir: Path) -> None:
        self.service = service
        self.address = f"127.0.0.1:{free_port()}"
        variable = f"OPENEO_{service.replace('-', '_').upper()}_LISTEN"
        module = f"eoplex_{service.replace('-', '_')}"
        self.spec = ProcessSpec(
            service,
            [sys.executable, "-m", module],
            grpc_serving(self.address),
            env={**env, variable: self.address},
            ready_timeout_seconds=30,
        )
        self.log_path = log_dir / f"{service}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> "ServiceProcess":
        self.process = start_process(self.spec, log_path=self.log_path)
        try:
            wait_ready(self.spec, self.process)
        except BaseException:
            stop_process(self.process)
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self.process is not None
        stop_process(self.process)

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""
