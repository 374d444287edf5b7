"""How many batch jobs per second the jobs service admits and tracks to `finished`.

In-process, against real NATS JetStream and MongoDB servers started on free loopback
ports (the specs the local stack and the test fixtures run): the real `JobsService`
(`create_job`, `start_job`: the job queued and its id on the `JOBQUEUE` work queue),
`Scheduler` and `JobEventConsumer` on a `JobStore`. Only the executor is left out: the
launcher publishes the first heartbeat and the `finished` event of `run-job` as soon as
it is asked to launch, so what is timed is the service's own path, from the first start to
the last job `finished` in MongoDB. The limits are set so as never to hold a job back.
"""

import asyncio
import json
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from minio import Minio
from nats.js import JetStreamContext

from bench.jobs import TRIVIAL_GRAPH
from eoplex.servers import (
    free_port,
    mongodb_spec,
    nats_spec,
    start_process,
    stop_process,
    wait_ready,
)
from eoplex_common import job_events
from eoplex_common.errors import OpenEOError
from eoplex_common.events import connect_nats, publish_event
from eoplex_common.mongo import connect_mongo
from eoplex_jobs.clients import ResultObjects
from eoplex_jobs.estimate import ExecutorFigures
from eoplex_jobs.events import JobEventConsumer, WorkQueue
from eoplex_jobs.launcher.protocol import Document, LaunchStatus
from eoplex_jobs.result_links import ResultLinks
from eoplex_jobs.scheduler import Scheduler
from eoplex_jobs.service import JobDraft, JobsService, Owner
from eoplex_jobs.spec import JobSpecs
from eoplex_jobs.store import JobStore
from eoplex_proto.openeo.jobs.v1 import jobs_pb2

JOBS = 200
TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.05
# High enough never to hold a job back; the tenant's quota 0 means no limit.
PER_USER_LIMIT = 1000
TENANT_LIMIT = 0
OWNER = Owner(user_id="bench", tenant_id="bench")
PROCESS_JSON = json.dumps({"process_graph": TRIVIAL_GRAPH})


@dataclass(frozen=True)
class Servers:
    """Where the NATS and MongoDB servers of the measurement answer."""

    nats_url: str
    mongodb_url: str


class AcceptingValidator:
    """Stands in for the processes service: every process is valid."""

    async def validate(
        self, process_json: str, *, user_id: str, tenant_id: str
    ) -> list[OpenEOError]:
        return []


class TrivialEstimates:
    """Stands in for the executor's `Estimate`, which the jobs service asks for at each
    start (its pixel quota): the measured jobs read and write nothing."""

    async def estimate(self, process_json: str, *, user_id: str, tenant_id: str) -> ExecutorFigures:
        return ExecutorFigures(
            pixels_read=0, bytes_read=0, pixels_written=0, bytes_written=0, files_written=0
        )


class ReportingLauncher:
    """Stands in for the local launcher and `run-job`: launching a job publishes its
    first heartbeat and its `finished` status event at once, as the executor would at its
    start and end, so that the jobs service tracks the job to the end with nothing
    computed."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def launch(self, job: Document, spec: jobs_pb2.JobSpec) -> Document:
        progress = job_events.subject(job["_id"], "progress")
        await publish_event(self.js, progress, job_events.progress_payload(0.0))
        status = job_events.subject(job["_id"], "status")
        await publish_event(self.js, status, job_events.status_payload("finished"))
        return {"kind": "bench"}

    async def status(self, job: Document) -> LaunchStatus:
        return LaunchStatus(alive=False, reason="the bench launcher runs nothing")

    async def cancel(self, job: Document) -> None:
        """Nothing runs, so nothing to stop (the scheduler asks when the job finished
        before its launcher reference was stored)."""


@contextmanager
def running_servers() -> Iterator[Servers]:
    """NATS (JetStream) and MongoDB on free loopback ports in a temporary directory;
    both stopped and the directory removed after."""
    root = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    nats_port, mongodb_port = free_port(), free_port()
    nats_password = secrets.token_urlsafe(16)
    specs = [
        nats_spec(
            port=nats_port,
            monitor_port=free_port(),
            store_dir=root / "nats",
            user="bench",
            password=nats_password,
        ),
        mongodb_spec(port=mongodb_port, storage_dir=root / "mongodb"),
    ]
    started: list[subprocess.Popen[bytes]] = []
    try:
        for spec in specs:
            started.append(start_process(spec, log_path=root / "logs" / f"{spec.name}.log"))
            wait_ready(spec, started[-1])
        yield Servers(
            nats_url=f"nats://bench:{nats_password}@127.0.0.1:{nats_port}",
            mongodb_url=f"mongodb://127.0.0.1:{mongodb_port}",
        )
    finally:
        for process in reversed(started):
            stop_process(process)
        shutil.rmtree(root, ignore_errors=True)


def jobs_service(store: JobStore, queue: WorkQueue, launcher: ReportingLauncher) -> JobsService:
    """The service behind CreateJob and StartJob, its other parties stood in for."""
    # Never reached: results are only signed or removed for jobs asked about, canceled
    # or deleted, and constructing a client does not connect.
    unused_s3 = Minio("127.0.0.1:9", secure=False)
    results = ResultObjects(
        client=unused_s3, signer=unused_s3, bucket="unused", expiry=timedelta(hours=1)
    )
    return JobsService(
        store=store,
        validator=AcceptingValidator(),
        estimator=TrivialEstimates(),
        launcher=launcher,
        queue=queue,
        results=results,
        links=ResultLinks(secret="unused"),
        cost_per_megapixel=0.0,
        megapixels_per_second=1.0,
    )


async def no_tenant_limit(tenant_id: str) -> int:
    return TENANT_LIMIT


async def wait_all_finished(store: JobStore, count: int) -> None:
    """Poll MongoDB until `count` jobs are finished; RuntimeError after the timeout."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while (finished := await store.jobs.count_documents({"status": "finished"})) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{finished} of {count} jobs finished in {TIMEOUT_SECONDS:.0f} s")
        await asyncio.sleep(POLL_SECONDS)


async def measure_on(servers: Servers, jobs: int) -> dict[str, Any]:
    """Create `jobs` jobs, then time starting them all until every one is finished."""
    client = connect_mongo(servers.mongodb_url)
    nats = await connect_nats(servers.nats_url, name="bench-queue")
    try:
        js = nats.jetstream()
        store = JobStore(client[f"bench_{secrets.token_hex(4)}"])
        await store.ensure_indexes()
        queue = WorkQueue(js=js)
        await queue.ensure_stream()
        launcher = ReportingLauncher(js)
        service = jobs_service(store, queue, launcher)
        consumer = JobEventConsumer(js=js, store=store, cost_per_megapixel=0.0)
        scheduler = Scheduler(
            js=js,
            store=store,
            launcher=launcher,
            specs=JobSpecs(max_pixels_for=lambda tenant_id: 0, cost_per_megapixel=0.0),
            tenant_job_limit=no_tenant_limit,
            max_concurrent_per_user=PER_USER_LIMIT,
            retry_delay_seconds=0.2,
        )
        draft = JobDraft(process_json=PROCESS_JSON)
        job_ids = [(await service.create_job(OWNER, draft))["_id"] for _ in range(jobs)]
        await consumer.start()
        await scheduler.start()
        try:
            start = time.perf_counter()
            for job_id in job_ids:
                await service.start_job(OWNER, job_id)
            started = time.perf_counter() - start
            await wait_all_finished(store, jobs)
            seconds = time.perf_counter() - start
        finally:
            await scheduler.stop()
            await consumer.stop()
    finally:
        await nats.close()
        await client.close()
    return {
        "jobs": jobs,
        "seconds": seconds,
        "start_seconds": started,
        "jobs_per_second": jobs / seconds,
    }


def measure_queue_throughput(jobs: int = JOBS) -> dict[str, Any]:
    """Jobs admitted and tracked to `finished` per second; the servers are stopped after."""
    with running_servers() as servers:
        return asyncio.run(measure_on(servers, jobs))
