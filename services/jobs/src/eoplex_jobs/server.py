"""Wiring of the jobs service: settings -> MongoDB, NATS JetStream, S3, the processes
service (validation) and the executor (estimates) -> gRPC server, event consumer,
scheduler and reconciler."""

from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

import grpc
from nats.js import JetStreamContext
from pymongo.asynchronous.database import AsyncDatabase

from eoplex_common.entrypoint import run_service
from eoplex_common.events import connect_nats
from eoplex_common.mongo import connect_mongo, service_database
from eoplex_common.rpc import GrpcService, open_channel
from eoplex_common.s3 import connect_s3
from eoplex_common.settings import ServiceAddresses
from eoplex_jobs.clients import (
    ExecutorEstimates,
    ProcessesValidation,
    ResultObjects,
    result_signer,
    tenant_job_limit_from_auth,
)
from eoplex_jobs.events import EVENTS_CONSUMER, JobEventConsumer, WorkQueue
from eoplex_jobs.launcher import make_launcher
from eoplex_jobs.launcher.protocol import Launcher
from eoplex_jobs.launcher.settings import LauncherSettings
from eoplex_jobs.reconciler import Reconciler
from eoplex_jobs.result_links import ResultLinks
from eoplex_jobs.scheduler import Scheduler
from eoplex_jobs.service import JobsService
from eoplex_jobs.servicer import JobsServicer
from eoplex_jobs.settings import JobsSettings
from eoplex_jobs.spec import JobSpecs
from eoplex_jobs.store import JobStore
from eoplex_proto.openeo.jobs.v1 import jobs_pb2_grpc


@dataclass
class JobsServer:
    """The jobs service's parts that run: the gRPC server, the event consumer, and in
    the background the scheduler and the reconciler."""

    grpc: GrpcService
    consumer: JobEventConsumer
    service: JobsService
    store: JobStore
    background: list[Scheduler | Reconciler] = field(default_factory=list)

    async def start_background(self) -> None:
        """Consume events (and schedule, reconcile) before serving, so the first RPC
        already sees what was reported while the service was down."""
        await self.consumer.start()
        for part in self.background:
            await part.start()

    async def stop_background(self) -> None:
        """Stop in reverse order; unacknowledged events stay in the stream."""
        try:
            for part in reversed(self.background):
                await part.stop()
        finally:
            await self.consumer.stop()

    async def start(self) -> None:
        """Start everything (tests; `run_until_signal` in production)."""
        await self.start_background()
        await self.grpc.start()

    async def stop(self) -> None:
        """Stop serving within the grace period, then the background parts."""
        await self.grpc.stop()
        await self.stop_background()

    async def run_until_signal(self) -> None:
        """Serve until SIGTERM or SIGINT, then stop gracefully."""
        await self.start_background()
        try:
            await self.grpc.run_until_signal()
        finally:
            await self.stop_background()


async def build_jobs_server(
    *,
    settings: JobsSettings,
    database: AsyncDatabase[dict[str, Any]],
    js: JetStreamContext,
    processes_channel: grpc.aio.Channel,
    executor_channel: grpc.aio.Channel,
    auth_channel: grpc.aio.Channel,
    launcher: Launcher,
    events_durable: str = EVENTS_CONSUMER,
) -> JobsServer:
    """A not yet started jobs service with its indexes and streams prepared; it consumes
    `JOBS` through the durable consumer `events_durable`."""
    store = JobStore(database)
    await store.ensure_indexes()
    queue = WorkQueue(js=js)
    await queue.ensure_stream()
    results = ResultObjects(
        client=connect_s3(settings),
        signer=result_signer(settings),
        bucket=settings.results_bucket,
        expiry=timedelta(seconds=settings.result_url_expiry_seconds),
        public_urls=bool(settings.s3_public_endpoint),
    )
    await results.ensure_bucket()
    service = JobsService(
        store=store,
        validator=ProcessesValidation(processes_channel),
        estimator=ExecutorEstimates(executor_channel),
        launcher=launcher,
        queue=queue,
        results=results,
        links=ResultLinks(secret=settings.s3_secret_key),
        cost_per_megapixel=settings.cost_per_megapixel,
        megapixels_per_second=settings.estimate_megapixels_per_second,
        max_pixels_for=settings.max_pixels_for,
    )
    grpc_service = GrpcService(
        name="jobs", listen=settings.listen, grace_seconds=settings.shutdown_grace_seconds
    )
    jobs_pb2_grpc.add_JobsServiceServicer_to_server(JobsServicer(service), grpc_service.server)
    scheduler = Scheduler(
        js=js,
        store=store,
        launcher=launcher,
        specs=JobSpecs(
            max_pixels_for=settings.max_pixels_for, cost_per_megapixel=settings.cost_per_megapixel
        ),
        tenant_job_limit=tenant_job_limit_from_auth(auth_channel),
        max_concurrent_per_user=settings.max_concurrent_per_user,
        retry_delay_seconds=settings.scheduler_retry_delay_seconds,
    )
    reconciler = Reconciler(
        store=store,
        launcher=launcher,
        interval_seconds=settings.reconcile_interval_seconds,
        exit_grace_seconds=settings.exit_grace_seconds,
        heartbeat_timeout_seconds=settings.heartbeat_timeout_seconds,
    )
    return JobsServer(
        grpc=grpc_service,
        consumer=JobEventConsumer(
            js=js,
            store=store,
            cost_per_megapixel=settings.cost_per_megapixel,
            durable=events_durable,
        ),
        service=service,
        store=store,
        background=[scheduler, reconciler],
    )


async def serve(
    settings: JobsSettings, launcher_settings: LauncherSettings, addresses: ServiceAddresses
) -> None:
    """Run the jobs service until SIGTERM/SIGINT; fail at start if MongoDB or NATS do not
    answer."""
    mongo = connect_mongo(settings.mongodb_url)
    try:
        database = service_database(mongo, "jobs")
        # Ping before serving, so SERVING means the service's own database answers.
        await database.command("ping")
        nats = await connect_nats(settings.nats_url, name="jobs")
        processes_channel, executor_channel, auth_channel = (
            open_channel(
                service=name, address=address, timeout_seconds=settings.rpc_timeout_seconds
            )
            for name, address in (
                ("processes", addresses.processes_address),
                ("executor", addresses.executor_address),
                ("auth", addresses.auth_address),
            )
        )
        try:
            server = await build_jobs_server(
                settings=settings,
                database=database,
                js=nats.jetstream(),
                processes_channel=processes_channel,
                executor_channel=executor_channel,
                auth_channel=auth_channel,
                launcher=make_launcher(launcher_settings),
            )
            await server.run_until_signal()
        finally:
            await auth_channel.close()
            await executor_channel.close()
            await processes_channel.close()
            # Not drain(): it waits out the pull subscriptions' pending fetches (SIGKILL by
            # the supervisor after 10 s). Every publish was acknowledged already, and what
            # was fetched but not acknowledged is redelivered to the next start.
            await nats.close()
    finally:
        await mongo.close()


def main() -> None:
    """Entry point: `python -m eoplex_jobs`."""
    addresses = ServiceAddresses()
    launcher_settings = LauncherSettings()
    run_service(
        name="jobs",
        settings=JobsSettings(),
        serve=partial(serve, launcher_settings=launcher_settings, addresses=addresses),
    )
