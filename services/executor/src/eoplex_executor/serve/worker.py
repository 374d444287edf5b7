"""The worker process side of the `serve` pool: one process graph at a time, over a pipe.

A worker is forked from a forkserver that has already imported the modules in
`PRELOADED_MODULES`, so a new worker (at start-up, or replacing a killed one) is
ready at once. It receives a `SyncTask` (one synchronous request; a batch job runs in
`batch.run_job` instead), runs it with `run_to_file` and answers `Done` or `Failed`; it
exits when the pool closes its end of the pipe.
"""

import logging
import os
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import dask

import eoplex_executor.processes  # noqa: F401  (registers every process)
from eoplex_common.context import request_id
from eoplex_common.errors import OpenEOError
from eoplex_common.logs import configure_logging
from eoplex_common.process_graph import GraphLimits
from eoplex_executor.engine.environment import Catalog, Environment, Limits, ResultFile
from eoplex_executor.engine.run import run_to_file
from eoplex_executor.io.clients import GrpcCatalog, Workspace, caller_workspace
from eoplex_executor.io.gdal import forget_remote_files
from eoplex_executor.udf.sandbox import UdfSandbox, make_undumpable

log = logging.getLogger(__name__)

# Imported once by the forkserver, so that no request waits for them.
PRELOADED_MODULES = (
    # First: the forkserver and its workers keep their environment from UDF processes.
    "eoplex_executor.udf.undumpable",
    "numpy",
    "xarray",
    "dask.array",
    "rasterio",
    # The UDF runtime of run_udf (about 0.3 s to import).
    "openeo.udf",
    "eoplex_executor.processes",
    "eoplex_executor.serve.worker",
)

INTERNAL_MESSAGE = "Server error: an unexpected error occurred, it has been logged."

Runner = Callable[[Mapping[str, Any], Environment], ResultFile]


@dataclass(frozen=True, kw_only=True)
class WorkerConfig:
    """What every worker of a pool is set up with."""

    # GDAL and S3 configuration (see `gdal_environment`).
    environment: Mapping[str, str]
    dask_threads: int
    catalog_address: str
    catalog_timeout_seconds: float
    # The processes and files services (the caller's user-defined processes and files);
    # None where an executor has none, whose executions then see neither.
    processes_address: str | None = None
    files_address: str | None = None
    # The jobs service (the caller's job results, for load_stac); None: no job is found.
    jobs_address: str | None = None
    log_level: str = "INFO"
    log_format: str = "json"
    graph_limits: GraphLimits = field(default_factory=GraphLimits)
    udf_sandbox: UdfSandbox = field(default_factory=UdfSandbox)
    # What runs a task; tests give a function of their own (it must be importable by name).
    run: Runner = run_to_file


@dataclass(frozen=True, kw_only=True)
class SyncTask:
    """One synchronous request, as the worker runs it."""

    process: Mapping[str, Any]
    scratch_dir: Path
    max_pixels: int
    request_id: str
    # Who asks: the owner of the user-defined processes and files the process may use.
    user_id: str = ""
    tenant_id: str = ""
    # How many catalog changes the pool has heard of: a worker that sees it change forgets
    # the remote files GDAL cached (`forget_remote_files`) before it runs the task.
    catalog_generation: int = 0


@dataclass(frozen=True)
class Done:
    """The result file of a task and the pixels it read and produced (its costs)."""

    path: Path
    media_type: str
    pixels: int


@dataclass(frozen=True)
class Failed:
    """The openEO error a task ended with (`Internal` for a bug, details only in the log)."""

    code: str
    message: str


def worker_main(connection: Connection, config: WorkerConfig) -> None:
    """Entry point of a worker process: set up, then run tasks until the pipe closes."""
    # Ctrl-C in a terminal reaches the whole process group; the pool decides when
    # running requests stop (graceful shutdown), not the signal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Also set by the forkserver's preload; here too, before the secrets arrive.
    make_undumpable()
    # GDAL reads these when it opens a file, not when rasterio is imported, so setting
    # them after the forkserver's imports still holds for every read of this worker.
    os.environ.update(config.environment)
    configure_logging(service="executor", level=config.log_level, fmt=config.log_format)
    dask.config.set(scheduler="threads", num_workers=config.dask_threads)
    catalog = GrpcCatalog(config.catalog_address, config.catalog_timeout_seconds)
    workspace = worker_workspace(config)
    catalog_generation = 0
    while True:
        try:
            task = connection.recv()
        except EOFError:
            return
        if task.catalog_generation != catalog_generation:
            forget_remote_files()
            catalog_generation = task.catalog_generation
        connection.send(
            run_task(
                task,
                catalog=catalog,
                run=config.run,
                graph_limits=config.graph_limits,
                udf_sandbox=config.udf_sandbox,
                workspace=workspace,
            )
        )


def worker_workspace(config: WorkerConfig) -> Workspace | None:
    """The connections to the processes and files services, if the config names both
    (and to the jobs service, if it names it)."""
    if config.processes_address is None or config.files_address is None:
        return None
    return Workspace(
        processes_address=config.processes_address,
        files_address=config.files_address,
        jobs_address=config.jobs_address,
        timeout_seconds=config.catalog_timeout_seconds,
    )


def run_task(
    task: SyncTask,
    *,
    catalog: Catalog,
    run: Runner = run_to_file,
    graph_limits: GraphLimits | None = None,
    udf_sandbox: UdfSandbox | None = None,
    workspace: Workspace | None = None,
) -> Done | Failed:
    """Run one synchronous request in a fresh environment, with the caller's user-defined
    processes and files; its result file, or the error it ended with."""
    token = request_id.set(task.request_id)
    caller = caller_workspace(workspace, user_id=task.user_id, tenant_id=task.tenant_id)
    env = Environment(
        catalog=catalog,
        scratch_dir=task.scratch_dir,
        limits=Limits(
            max_pixels=task.max_pixels,
            single_file=True,
            graph=graph_limits or GraphLimits(),
            udf=udf_sandbox or UdfSandbox(),
        ),
        user_processes=caller.user_processes,
        user_files=caller.user_files,
        job_results=caller.job_results,
    )
    try:
        result = run(task.process, env)
    except OpenEOError as error:
        return Failed(error.code, error.message)
    except Exception:
        log.exception("a synchronous request failed unexpectedly")
        return Failed("Internal", INTERNAL_MESSAGE)
    finally:
        env.close()
        request_id.reset(token)
    return Done(result.path, result.media_type, env.pixel_count)
