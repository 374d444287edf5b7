"""Settings of the executor service (prefix `OPENEO_EXECUTOR_`)."""

import os
import tempfile
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from eoplex_common.pricing import PricingSettings
from eoplex_common.process_graph import GraphLimits
from eoplex_common.settings import ServiceSettings


def _default_scratch_dir() -> Path:
    return Path(tempfile.gettempdir()) / "eoplex-executor"


class ExecutorSettings(ServiceSettings, PricingSettings):
    """The `serve` pool for synchronous processing (`POST /result`) and what it may use.

    - `workers`: warm worker processes; each runs one request at a time.
    - `max_concurrent_per_user`: synchronous requests one user may run at once; one
      more is refused at once with TooManyRequests (429), not queued.
    - `sync_timeout_seconds`: how long a request may wait for a worker and compute;
      beyond it the worker is killed and replaced and the request fails with
      RequestTimeout (408).
    - `scratch_dir`: where each request gets a scratch directory of its own, removed
      once its result has been sent.
    - `dask_threads`: threads of the dask scheduler inside each worker (default: the
      number of CPUs).
    - `gdal_cachemax_mb`: GDAL's raster block cache of each worker, in megabytes.
    - `cost_per_megapixel` (`eoplex_common.pricing`, the back-end's one price): a
      synchronous request costs the pixels `load_collection` reads and the processes
      produce beyond their input (`eoplex_executor.engine.pixel_meter`: a finer resampling, more
      labels, merged cubes) at that price; the tenant's `max_sync_pixels` limits the same
      count. It is sent as the `OpenEO-Costs` header.

    UDF processes (`run_udf`; see `sandbox` and docs/security.md), each:
    - `udf_memory_mb`: memory (heap and private mappings; 0: no limit);
    - `udf_cpu_seconds`: CPU time (a synchronous request's UDF at most
      `sync_timeout_seconds`);
    - `udf_max_file_mb`: the largest file it may write;
    - `udf_max_tasks`: processes and threads it may run at once;
    - `udf_uid_base`: where the executor runs as root, each UDF process runs as the user
      and group `udf_uid_base + its pid`, which no other process has;
    - `udf_unsafe_without_landlock`: run UDFs on a kernel without Landlock, where a UDF can
      read every file the executor's user can. Off by default: without Landlock, run_udf
      is refused, and `GET /udf_runtimes` says why.

    Batch jobs (`run-job`):
    - `results_bucket`: the S3 bucket results go to, under `jobs/<job_id>/`; read from
      `OPENEO_JOBS_RESULTS_BUCKET`, the jobs service's own setting, since both must agree.
    - `job_heartbeat_seconds`: how often a running job reports its progress; the jobs
      service gives a job up when it has not heard from it for a minute.
    - `job_event_retry_seconds`: how long a job keeps trying to publish an event while
      NATS is unreachable, so that no status is lost to a short outage.
    """

    model_config = SettingsConfigDict(env_prefix="OPENEO_EXECUTOR_", extra="ignore")

    listen: str = "127.0.0.1:50067"
    workers: int = Field(2, ge=1)
    max_concurrent_per_user: int = Field(2, ge=1)
    sync_timeout_seconds: float = Field(300.0, gt=0)
    scratch_dir: Path = Field(default_factory=_default_scratch_dir)
    dask_threads: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    gdal_cachemax_mb: int = Field(256, ge=1)
    # The processes service's limits (same variables), so a graph /validation accepts runs.
    max_graph_nodes: int = Field(
        GraphLimits().max_nodes, validation_alias=AliasChoices("OPENEO_PROCESSES_MAX_GRAPH_NODES")
    )
    max_graph_depth: int = Field(
        GraphLimits().max_depth, validation_alias=AliasChoices("OPENEO_PROCESSES_MAX_GRAPH_DEPTH")
    )

    def graph_limits(self) -> GraphLimits:
        """The node and depth limits every process is validated against."""
        return GraphLimits(max_nodes=self.max_graph_nodes, max_depth=self.max_graph_depth)

    udf_memory_mb: int = Field(2048, ge=0)
    udf_cpu_seconds: int = Field(3600, ge=0)
    udf_max_file_mb: int = Field(1024, ge=0)
    udf_max_tasks: int = Field(64, ge=0)
    # None: the sandbox's default (`eoplex_executor.udf.sandbox.DEFAULT_UID_BASE`).
    udf_uid_base: int | None = Field(None, ge=1, le=2**32 - 2**23)
    udf_unsafe_without_landlock: bool = False

    results_bucket: str = Field(
        "eoplex-results", validation_alias=AliasChoices("OPENEO_JOBS_RESULTS_BUCKET")
    )
    job_heartbeat_seconds: float = Field(5.0, gt=0, le=10)
    job_event_retry_seconds: float = Field(30.0, ge=0)
