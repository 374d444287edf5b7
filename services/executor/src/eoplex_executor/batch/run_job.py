"""`python -m eoplex_executor run-job <job_id> <spec>`: one batch job, from its spec to
its results.

The launcher starts this process once the scheduler has moved the job to `running`,
and hands it the job's spec (`openeo.jobs.v1.JobSpec`, serialized: a file, or `-` for
standard input), so the path is one way: nothing is asked of the jobs service, events
go out over NATS. It reports progress 0 at once (its first heartbeat), runs the process
graph as `run_process` does for a synchronous request but with one GeoTIFF per date,
uploads every file to `<results bucket>/jobs/<job_id>/<file>` (`assets`) and reports
`finished` with the assets and the usage, or `error` with the openEO message. Progress
events (the heartbeat the jobs service watches) go out every `job_heartbeat_seconds`
while it runs; every event is retried while NATS is briefly away, so that no status is
lost (`events`). SIGTERM (a cancel) ends the process at once, reporting nothing: the
jobs service already knows.
"""

import asyncio
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import dask
from minio import Minio

import eoplex_executor.processes  # noqa: F401  (registers every process)
from eoplex_common import job_events
from eoplex_common.context import request_id
from eoplex_common.errors import OpenEOError
from eoplex_common.events import connect_nats, publish_event
from eoplex_common.logs import configure_logging
from eoplex_common.s3 import connect_s3, ensure_bucket
from eoplex_common.settings import ServiceAddresses
from eoplex_common.tasks import stop_task
from eoplex_common.tracing import configure_tracing
from eoplex_executor.batch.assets import job_usage, upload
from eoplex_executor.batch.events import JobEvents, Progress, Publish, heartbeat
from eoplex_executor.engine.environment import Catalog, Environment, Limits, ResultFile
from eoplex_executor.engine.run import run_process
from eoplex_executor.engine.settings import ExecutorSettings
from eoplex_executor.io.clients import GrpcCatalog, Workspace, caller_workspace
from eoplex_executor.io.gdal import gdal_environment
from eoplex_executor.processes.inspection import forwarded_logs
from eoplex_executor.udf.sandbox import udf_sandbox
from eoplex_executor.udf.scratch import ScratchDir, sweep
from eoplex_proto.openeo.jobs.v1 import jobs_pb2

log = logging.getLogger(__name__)

EXIT_FINISHED = 0
EXIT_ERROR = 1
# What a shell reports for a process ended by SIGTERM.
EXIT_CANCELED = 128 + signal.SIGTERM
# run-job's spec argument for "read the spec from standard input".
SPEC_ON_STDIN = "-"

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class BatchJob:
    """What `run_job` works with; `main` connects the real ones, tests give their own."""

    spec: jobs_pb2.JobSpec
    settings: ExecutorSettings
    catalog: Catalog
    s3: Minio
    publish: Publish
    # The processes and files services: the job owner's user-defined processes and files.
    workspace: Workspace | None = None

    @property
    def job_id(self) -> str:
        """The id of the job the spec is of."""
        return str(self.spec.job.job_id)


def read_spec(source: str, *, job_id: str) -> jobs_pb2.JobSpec:
    """The spec in the file `source` (`-`: standard input); ValueError if it is not the
    spec of `job_id`."""
    data = sys.stdin.buffer.read() if source == SPEC_ON_STDIN else Path(source).read_bytes()
    spec = jobs_pb2.JobSpec.FromString(data)
    if spec.job.job_id != job_id:
        raise ValueError(f"the spec is of job {spec.job.job_id!r}, not of {job_id!r}")
    return spec


async def run_job(job: BatchJob) -> int:
    """Run the batch job of `job.spec`; the process's exit code.

    Every openEO error ends as an `error` event with its message; anything else as an
    `error` event "internal error", its traceback only in this process's log.
    """
    events = JobEvents(job.job_id, job.publish, retry_seconds=job.settings.job_event_retry_seconds)
    # The job is `running` since the scheduler launched it: its first heartbeat says so.
    await events.progress(0.0)
    progress = Progress()
    beating = asyncio.create_task(heartbeat(events, progress, job.settings))
    # Directories of runs that were killed go first; this run's when it ends, however it
    # ends (a cancel too), with the UDF processes it started.
    sweep(job.settings.scratch_dir)
    scratch = ScratchDir.claim(job.settings.scratch_dir, prefix=f"{job.job_id}-")
    try:
        assets, usage = await _run(job, events, progress, scratch.path)
    except OpenEOError as error:
        failure: tuple[str, Any] | None = (error.message, {"code": error.code})
    except Exception as error:
        log.exception("batch job %s failed unexpectedly", job.job_id)
        failure = (f"internal error ({type(error).__name__})", None)
    else:
        failure = None
    finally:
        await stop_task(beating)
        scratch.remove()
    if failure is not None:
        message, data = failure
        await events.log("error", message, data=data)
        await events.status("error", message=message)
        return EXIT_ERROR
    await events.status("finished", assets=assets, usage=usage)
    return EXIT_FINISHED


async def _run(
    job: BatchJob,
    events: JobEvents,
    progress: Progress,
    scratch_dir: Path,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Compute, upload and describe the results; (assets, usage)."""
    started = time.monotonic()
    spec = job.spec
    await events.log("info", f"job {job.job_id} started")
    caller = caller_workspace(
        job.workspace, user_id=spec.owner.user_id, tenant_id=spec.owner.tenant_id
    )
    env = Environment(
        catalog=job.catalog,
        scratch_dir=scratch_dir,
        limits=Limits(
            max_pixels=spec.max_pixels,
            paid_pixels=spec.paid_pixels,
            single_file=False,
            graph=job.settings.graph_limits(),
            udf=udf_sandbox(job.settings, synchronous=False),
        ),
        user_processes=caller.user_processes,
        user_files=caller.user_files,
        job_results=caller.job_results,
    )
    process = json.loads(spec.job.process_json)
    loop = asyncio.get_running_loop()

    def job_log(level: str, message: str, data: Any) -> None:
        # `inspect` runs in the compute threads; its entries join the job's log events in order.
        asyncio.run_coroutine_threadsafe(events.log(level, message, data), loop)

    try:
        with forwarded_logs(job_log):
            outputs = await _in_daemon_thread(partial(_compute, process, env, progress))
    finally:
        env.close()
    await events.log(
        "info",
        f"read {env.pixels:,} input pixels ({env.bytes_read:,} bytes), produced "
        f"{env.produced.pixels:,} more and wrote {len(outputs)} files",
        data={
            "input_pixels": env.pixels,
            "input_bytes": env.bytes_read,
            "produced_pixels": env.produced.pixels,
        },
    )
    await asyncio.to_thread(ensure_bucket, job.s3, job.settings.results_bucket)
    progress.files = len(outputs)
    assets = []
    for output in outputs:
        asset = await asyncio.to_thread(
            upload,
            job.s3,
            output,
            bucket=job.settings.results_bucket,
            job_id=job.job_id,
            dates_read=env.dates_read,
        )
        progress.files_uploaded += 1
        await events.log("info", f"wrote {asset['name']} ({asset['file:size']:,} bytes)")
        assets.append(asset)
    usage = job_usage(
        duration_seconds=time.monotonic() - started,
        input_pixels=env.pixels,
        produced_pixels=env.produced.pixels,
        input_bytes=env.bytes_read,
        output_bytes=sum(asset["file:size"] for asset in assets),
    )
    return assets, usage


def _compute(process: Mapping[str, Any], env: Environment, progress: Progress) -> list[ResultFile]:
    with progress:
        return run_process(process, env)


async def _in_daemon_thread(function: Callable[[], T]) -> T:
    """`function()` in a daemon thread: unlike `asyncio.to_thread`, a cancelled job need
    not wait for the computation to end before the process exits."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def target() -> None:
        try:
            result = function()
        except BaseException as error:
            outcome: tuple[T | None, BaseException | None] = (None, error)
        else:
            outcome = (result, None)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:
            pass  # the loop is closed: the job was canceled, nobody waits

    threading.Thread(target=target, name="run-job", daemon=True).start()
    return await future


async def _run_connected(spec: jobs_pb2.JobSpec, settings: ExecutorSettings) -> int:
    """`run_job` with the real catalog, workspace, S3 and NATS."""
    addresses = ServiceAddresses()
    catalog = GrpcCatalog(addresses.data_discovery_address, settings.rpc_timeout_seconds)
    workspace = Workspace(
        processes_address=addresses.processes_address,
        files_address=addresses.files_address,
        jobs_address=addresses.jobs_address,
        timeout_seconds=settings.rpc_timeout_seconds,
    )
    nats = await connect_nats(settings.nats_url, name="executor-job")
    try:
        js = nats.jetstream()
        await job_events.ensure_jobs_stream(js)
        job = BatchJob(
            spec=spec,
            settings=settings,
            catalog=catalog,
            s3=connect_s3(settings),
            publish=partial(publish_event, js),
            workspace=workspace,
        )
        return await run_job(job)
    finally:
        await nats.close()
        workspace.close()
        catalog.close()


async def _run_until_canceled(spec: jobs_pb2.JobSpec, settings: ExecutorSettings) -> int:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await _run_connected(spec, settings)
    except asyncio.CancelledError:
        log.info("job %s canceled (SIGTERM)", spec.job.job_id)
        return EXIT_CANCELED


def main(job_id: str, spec_source: str) -> None:
    """Entry point: `python -m eoplex_executor run-job <job_id> <spec file, or ->`; exits
    with the job's code."""
    settings = ExecutorSettings()
    configure_logging(service="executor", level=settings.log_level, fmt=settings.log_format)
    configure_tracing(service="executor", otlp_endpoint=settings.otlp_endpoint)
    os.environ.update(gdal_environment(settings, cachemax_mb=settings.gdal_cachemax_mb))
    dask.config.set(scheduler="threads", num_workers=settings.dask_threads)
    token = request_id.set(job_id)
    try:
        spec = read_spec(spec_source, job_id=job_id)
        code = asyncio.run(_run_until_canceled(spec, settings))
    except Exception:
        log.exception("job %s could not run", job_id)
        code = EXIT_ERROR
    finally:
        request_id.reset(token)
    logging.shutdown()
    # Without waiting for a computation a cancel interrupted (dask's worker threads).
    os._exit(code)
