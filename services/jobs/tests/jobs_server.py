"""The jobs service in-process for tests: a real gRPC server on a fresh MongoDB database,
real NATS JetStream and a fresh S3 bucket, and a stub talking to it.

The launcher is given by the test (by default `RecordingLauncher`, which starts nothing
and records what it was asked); the processes service, the executor and the auth
service are reached at the addresses given (an address where nothing answers is fine
for tests that do not create jobs, ask for estimates, or need jobs admitted: without
auth the scheduler cannot read the tenant's quota and leaves started jobs queued).
"""

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from minio import Minio
from nats.aio.client import Client as NATS
from pymongo.asynchronous.database import AsyncDatabase

from conftest import Infrastructure
from eoplex.servers import free_port
from eoplex_common.events import connect_nats
from eoplex_common.mongo import connect_mongo
from eoplex_common.rpc import open_channel
from eoplex_common.s3 import connect_s3
from eoplex_jobs.launcher.protocol import LaunchStatus
from eoplex_jobs.server import JobsServer, build_jobs_server
from eoplex_jobs.settings import JobsSettings
from eoplex_jobs.store import JobStore
from eoplex_proto.openeo.jobs.v1 import jobs_pb2, jobs_pb2_grpc


@dataclass
class RecordingLauncher:
    """A launcher that starts nothing: it records launches and cancels."""

    launched: list[str] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)

    async def launch(self, job: dict[str, Any], spec: jobs_pb2.JobSpec) -> dict[str, Any]:
        self.launched.append(job["_id"])
        return {"kind": "recording"}

    async def status(self, job: dict[str, Any]) -> LaunchStatus:
        return LaunchStatus(alive=job["_id"] not in self.canceled)

    async def cancel(self, job: dict[str, Any]) -> None:
        self.canceled.append(job["_id"])


@dataclass
class RunningJobs:
    """A started jobs service, a stub talking to it, and its storage for inspection."""

    server: JobsServer
    jobs: jobs_pb2_grpc.JobsServiceStub
    nats: NATS
    database: AsyncDatabase[dict[str, Any]]
    s3: Minio
    settings: JobsSettings
    launcher: Any

    @property
    def store(self) -> JobStore:
        return self.server.store

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.grpc.port}"


def jobs_settings(infrastructure: Infrastructure, **fields: Any) -> JobsSettings:
    """Settings for a test: the session's servers, a fresh results bucket, a free port."""
    return JobsSettings(
        listen="127.0.0.1:0",
        shutdown_grace_seconds=0.1,
        mongodb_url=infrastructure.mongodb_url,
        nats_url=infrastructure.nats_url,
        s3_endpoint=infrastructure.s3_endpoint,
        s3_access_key=infrastructure.s3_credentials.access_key,
        s3_secret_key=infrastructure.s3_credentials.secret_key,
        results_bucket=f"test-results-{secrets.token_hex(6)}",
        **fields,
    )


@asynccontextmanager
async def running_jobs(
    infrastructure: Infrastructure,
    *,
    processes_address: str | None = None,
    executor_address: str | None = None,
    auth_address: str | None = None,
    launcher: Any = None,
    settings: JobsSettings | None = None,
    database_name: str | None = None,
    events_durable: str | None = None,
) -> AsyncIterator[RunningJobs]:
    """Start the jobs service; stop it and drop its database after (unless it was given by
    name, so that a test can restart the service on the same database)."""
    settings = settings or jobs_settings(infrastructure)
    client = connect_mongo(settings.mongodb_url)
    name = database_name or f"test_jobs_{secrets.token_hex(6)}"
    nats = await connect_nats(settings.nats_url, name="jobs-test")
    s3 = connect_s3(settings)
    processes_channel = open_channel(
        service="processes",
        address=processes_address or f"127.0.0.1:{free_port()}",
        timeout_seconds=10,
    )
    executor_channel = open_channel(
        service="executor",
        address=executor_address or f"127.0.0.1:{free_port()}",
        timeout_seconds=10,
    )
    # Without an auth service, the scheduler cannot read tenant quotas: jobs stay queued.
    auth_channel = open_channel(
        service="auth", address=auth_address or f"127.0.0.1:{free_port()}", timeout_seconds=10
    )
    launcher = launcher if launcher is not None else RecordingLauncher()
    try:
        server = await build_jobs_server(
            settings=settings,
            database=client[name],
            js=nats.jetstream(),
            processes_channel=processes_channel,
            executor_channel=executor_channel,
            auth_channel=auth_channel,
            launcher=launcher,
            events_durable=events_durable or f"jobs-test-{secrets.token_hex(6)}",
        )
        await server.start()
        channel = open_channel(
            service="jobs", address=f"127.0.0.1:{server.grpc.port}", timeout_seconds=10
        )
        try:
            yield RunningJobs(
                server=server,
                jobs=jobs_pb2_grpc.JobsServiceStub(channel),
                nats=nats,
                database=client[name],
                s3=s3,
                settings=settings,
                launcher=launcher,
            )
        finally:
            await channel.close()
            await server.stop()
    finally:
        await auth_channel.close()
        await executor_channel.close()
        await processes_channel.close()
        await nats.close()
        if database_name is None:
            await client.drop_database(name)
        await client.close()
