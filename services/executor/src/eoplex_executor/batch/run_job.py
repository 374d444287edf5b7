"""`python -m eoplex_executor run-job <job_id>`: one batch job, from its spec to its results.

The launcher starts this process once the scheduler has moved the job to `running`.
It fetches the job (jobs.GetJobSpec; anything but `running` means there is nothing to
do), reports `running`, runs the process graph as `run_process` does for a synchronous
request but with one GeoTIFF per date, uploads every file to
`<results bucket>/jobs/<job_id>/<file>` and reports `finished` with the assets and the
usage, or `error` with the openEO message. Progress events (also the heartbeat the
jobs service watches) go out every `job_heartbeat_seconds` while it runs; every event
is retried while NATS is briefly away, so that no status is lost. SIGTERM (a cancel)
ends the process at once, reporting nothing: the jobs service already knows.
"""

import asyncio
import json
import logging
import os
import resource
import signal
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import dask
import rasterio
from dask.callbacks import Callback
from minio import Minio
from rasterio.warp import transform_bounds

import eoplex_executor.processes  # noqa: F401  (registers every process)
from eoplex_common import job_events
from eoplex_common.context import request_id
from eoplex_common.errors import OpenEOError, ServiceUnavailable
from eoplex_common.events import connect_nats, publish_event
from eoplex_common.job_events import EventKind
from eoplex_common.logs import configure_logging
from eoplex_common.rpc import open_channel
from eoplex_common.s3 import connect_s3, ensure_bucket
from eoplex_common.settings import ServiceAddresses
from eoplex_common.tasks import stop_task
from eoplex_common.tracing import configure_tracing
from eoplex_executor.engine.environment import Catalog, Environment, Limits, ResultFile
from eoplex_executor.engine.run import run_process
from eoplex_executor.engine.settings import ExecutorSettings
from eoplex_executor.io.clients import GrpcCatalog, Workspace, caller_workspace
from eoplex_executor.io.gdal import gdal_environment
from eoplex_executor.processes.inspection import forwarded_logs
from eoplex_executor.udf.sandbox import udf_sandbox
from eoplex_executor.udf.scratch import ScratchDir, sweep
from eoplex_proto.openeo.jobs.v1 import jobs_pb2, jobs_pb2_grpc

log = logging.getLogger(__name__)

EXIT_FINISHED = 0
EXIT_ERROR = 1
# What a shell reports for a process ended by SIGTERM.
EXIT_CANCELED = 128 + signal.SIGTERM
RETRY_INTERVAL_SECONDS = 0.5
# Progress while computing runs up to here; uploading takes the rest.
COMPUTED_PERCENT = 90.0
# How long run-job waits for an unavailable jobs service at start (e.g. while it restarts).
JOB_SPEC_RETRY_SECONDS = 45.0

Publish = Callable[[str, bytes], Awaitable[None]]
T = TypeVar("T")


class JobEvents:
    """Publishes one job's status, progress and log events, in order.

    Each event is retried for `retry_seconds` while publishing fails (NATS restarting,
    a leader election), so a short outage delays events instead of losing them.
    """

    def __init__(self, job_id: str, publish: Publish, *, retry_seconds: float) -> None:
        self.job_id = job_id
        self.publish = publish
        self.retry_seconds = retry_seconds
        # One event at a time, so a heartbeat cannot overtake a retried status or log.
        self._lock = asyncio.Lock()

    async def status(self, status: str, **fields: Any) -> None:
        """Report `running`, `finished` (with assets and usage) or `error` (with a message)."""
        await self._send("status", job_events.status_payload(status, **fields))

    async def progress(self, percent: float) -> None:
        """Report how far the job is; its arrival is the job's heartbeat."""
        await self._send("progress", job_events.progress_payload(percent))

    async def log(self, level: str, message: str, data: Any = None) -> None:
        """A log record of the job, also written to this process's log."""
        log.log(logging.getLevelName(level.upper()), "job %s: %s", self.job_id, message)
        await self._send("log", job_events.log_payload(level, message, data=data))

    async def _send(self, kind: EventKind, payload: bytes) -> None:
        subject = job_events.subject(self.job_id, kind)
        async with self._lock:
            deadline = time.monotonic() + self.retry_seconds
            while True:
                try:
                    await self.publish(subject, payload)
                    return
                except Exception as error:
                    if time.monotonic() >= deadline:
                        raise
                    log.warning("publishing %s failed (%r); retrying", subject, error)
                await asyncio.sleep(RETRY_INTERVAL_SECONDS)


class Progress(Callback):  # type: ignore[misc]  # dask's callbacks are untyped
    """How far the job is: dask tasks done while computing, then files uploaded."""

    def __init__(self) -> None:
        super().__init__()
        self.tasks = 0
        self.tasks_done = 0
        self.files = 0
        self.files_uploaded = 0

    @property
    def percent(self) -> float:
        if self.files:
            return COMPUTED_PERCENT + (100 - COMPUTED_PERCENT) * self.files_uploaded / self.files
        return COMPUTED_PERCENT * self.tasks_done / self.tasks if self.tasks else 0.0

    def _start_state(self, dsk: Any, state: Mapping[str, Any]) -> None:
        self.tasks += sum(len(state[key]) for key in ("ready", "waiting", "running", "finished"))

    def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        self.tasks_done += 1


@dataclass(frozen=True, kw_only=True)
class BatchJob:
    """What `run_job` works with; `main` connects the real ones, tests give their own."""

    job_id: str
    settings: ExecutorSettings
    jobs: jobs_pb2_grpc.JobsServiceStub
    catalog: Catalog
    s3: Minio
    publish: Publish
    # The processes and files services: the job owner's user-defined processes and files.
    workspace: Workspace | None = None


async def run_job(job: BatchJob) -> int:
    """Run the batch job `job.job_id` if it is `running`; the process's exit code.

    Every openEO error ends as an `error` event with its message; anything else as an
    `error` event "internal error", its traceback only in this process's log.
    """
    spec = await _job_spec(job)
    if spec.job.status != "running":
        log.info("job %s is %s, not running: nothing to do", job.job_id, spec.job.status)
        return EXIT_FINISHED
    events = JobEvents(job.job_id, job.publish, retry_seconds=job.settings.job_event_retry_seconds)
    await events.status("running")
    progress = Progress()
    heartbeat = asyncio.create_task(_heartbeat(events, progress, job.settings))
    # Directories of runs that were killed go first; this run's when it ends, however it
    # ends (a cancel too), with the UDF processes it started.
    sweep(job.settings.scratch_dir)
    scratch = ScratchDir.claim(job.settings.scratch_dir, prefix=f"{job.job_id}-")
    try:
        assets, usage = await _run(job, spec, events, progress, scratch.path)
    except OpenEOError as error:
        failure: tuple[str, Any] | None = (error.message, {"code": error.code})
    except Exception as error:
        log.exception("batch job %s failed unexpectedly", job.job_id)
        failure = (f"internal error ({type(error).__name__})", None)
    else:
        failure = None
    finally:
        await stop_task(heartbeat)
        scratch.remove()
    if failure is not None:
        message, data = failure
        await events.log("error", message, data=data)
        await events.status("error", message=message)
        return EXIT_ERROR
    await events.status("finished", assets=assets, usage=usage)
    return EXIT_FINISHED


async def _job_spec(job: BatchJob) -> jobs_pb2.JobSpec:
    """The job to run; retried while the jobs service is unavailable (e.g. restarting), for
    less than the reconciler's heartbeat timeout, so a restart does not fail the job."""
    deadline = time.monotonic() + JOB_SPEC_RETRY_SECONDS
    while True:
        try:
            spec: jobs_pb2.JobSpec = await job.jobs.GetJobSpec(
                jobs_pb2.JobIdRequest(job_id=job.job_id)
            )
            return spec
        except ServiceUnavailable:
            if time.monotonic() >= deadline:
                raise
            log.warning("the jobs service is unavailable; asking again for job %s", job.job_id)
            await asyncio.sleep(1.0)


async def _run(
    job: BatchJob,
    spec: jobs_pb2.JobSpec,
    events: JobEvents,
    progress: Progress,
    scratch_dir: Path,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Compute, upload and describe the results; (assets, usage)."""
    started = time.monotonic()
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
        asset = await asyncio.to_thread(_upload, job, output)
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


def _upload(job: BatchJob, output: ResultFile) -> dict[str, Any]:
    key = f"jobs/{job.job_id}/{output.path.name}"
    job.s3.fput_object(
        job.settings.results_bucket, key, str(output.path), content_type=output.media_type
    )
    return asset_metadata(output, key=key)


def asset_metadata(output: ResultFile, *, key: str) -> dict[str, Any]:
    """The STAC asset fields of a result file: name, S3 key, type, roles, size, its own
    properties (e.g. `datetime`), and for a GeoTIFF projection and band metadata."""
    asset: dict[str, Any] = {
        "name": output.path.name,
        "key": key,
        "type": output.media_type,
        "roles": list(output.roles),
        "file:size": output.path.stat().st_size,
        **output.properties,
    }
    if output.media_type.startswith("image/tiff"):
        asset.update(_raster_metadata(output.path))
    return asset


def _raster_metadata(path: Path) -> dict[str, Any]:
    """`proj:*` and `bands` (names from the band descriptions) of a GeoTIFF."""
    with rasterio.open(path) as dataset:
        nodata = dataset.nodata
        bands = [
            {
                "name": description or f"band_{index}",
                "data_type": dtype,
                # The raster extension spells NaN as a string, since JSON has no NaN.
                **({} if nodata is None else {"nodata": "nan" if nodata != nodata else nodata}),
            }
            for index, (description, dtype) in enumerate(
                zip(dataset.descriptions, dataset.dtypes, strict=True), start=1
            )
        ]
        return {
            "proj:epsg": dataset.crs.to_epsg() if dataset.crs else None,
            "proj:shape": [dataset.height, dataset.width],
            "proj:transform": list(dataset.transform)[:6],
            "proj:bbox": list(dataset.bounds),
            "bands": bands,
            # WGS 84, for the results Item's bbox and geometry.
            **({"bbox": _wgs84_bounds(dataset)} if dataset.crs else {}),
        }


def _wgs84_bounds(dataset: Any) -> list[float]:
    """A dataset's bounds in WGS 84 (edges densified, since they bend when reprojected)."""
    bounds = transform_bounds(dataset.crs, "EPSG:4326", *dataset.bounds, densify_pts=21)
    return [round(value, 9) for value in bounds]


def job_usage(
    *,
    duration_seconds: float,
    input_pixels: int,
    produced_pixels: int,
    input_bytes: int,
    output_bytes: int,
) -> dict[str, Any]:
    """The openEO `usage` object of this process: CPU seconds, peak memory, wall time,
    pixels read and produced (`eoplex_executor.engine.pixel_meter`, the job's costs), bytes read
    and written."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu": {"value": round(own.ru_utime + own.ru_stime, 3), "unit": "cpu-seconds"},
        # Linux reports the peak resident set size in KiB.
        "memory": {"value": round(own.ru_maxrss / 1024, 1), "unit": "mb-peak"},
        "duration": {"value": round(duration_seconds, 3), "unit": "seconds"},
        "input_pixels": {"value": input_pixels, "unit": "pixels"},
        "produced_pixels": {"value": produced_pixels, "unit": "pixels"},
        "input": {"value": input_bytes, "unit": "bytes"},
        "output": {"value": output_bytes, "unit": "bytes"},
    }


async def _heartbeat(events: JobEvents, progress: Progress, settings: ExecutorSettings) -> None:
    """A progress event every `job_heartbeat_seconds`; a failed one does not end the job."""
    while True:
        await asyncio.sleep(settings.job_heartbeat_seconds)
        try:
            await events.progress(round(progress.percent, 1))
        except Exception as error:
            log.warning("cannot report the progress of job %s: %r", events.job_id, error)


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


async def _run_connected(job_id: str, settings: ExecutorSettings) -> int:
    """`run_job` with the real jobs service, catalog, S3 and NATS."""
    addresses = ServiceAddresses()
    channel = open_channel(
        service="jobs", address=addresses.jobs_address, timeout_seconds=settings.rpc_timeout_seconds
    )
    catalog = GrpcCatalog(addresses.data_discovery_address, settings.rpc_timeout_seconds)
    workspace = Workspace(
        processes_address=addresses.processes_address,
        files_address=addresses.files_address,
        timeout_seconds=settings.rpc_timeout_seconds,
    )
    nats = await connect_nats(settings.nats_url, name="executor-job")
    try:
        js = nats.jetstream()
        await job_events.ensure_jobs_stream(js)
        job = BatchJob(
            job_id=job_id,
            settings=settings,
            jobs=jobs_pb2_grpc.JobsServiceStub(channel),
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
        await channel.close()


async def _run_until_canceled(job_id: str, settings: ExecutorSettings) -> int:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await _run_connected(job_id, settings)
    except asyncio.CancelledError:
        log.info("job %s canceled (SIGTERM)", job_id)
        return EXIT_CANCELED


def main(job_id: str) -> None:
    """Entry point: `python -m eoplex_executor run-job <job_id>`; exits with the job's code."""
    settings = ExecutorSettings()
    configure_logging(service="executor", level=settings.log_level, fmt=settings.log_format)
    configure_tracing(service="executor", otlp_endpoint=settings.otlp_endpoint)
    os.environ.update(gdal_environment(settings, cachemax_mb=settings.gdal_cachemax_mb))
    dask.config.set(scheduler="threads", num_workers=settings.dask_threads)
    token = request_id.set(job_id)
    try:
        code = asyncio.run(_run_until_canceled(job_id, settings))
    except Exception:
        log.exception("job %s could not run", job_id)
        code = EXIT_ERROR
    finally:
        request_id.reset(token)
    logging.shutdown()
    # Without waiting for a computation a cancel interrupted (dask's worker threads).
    os._exit(code)
