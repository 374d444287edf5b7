"""Wiring of the executor's `serve` entry point: settings -> worker pool -> gRPC server."""

from functools import partial

from eoplex_common.entrypoint import run_service
from eoplex_common.events import connect_nats
from eoplex_common.rpc import GrpcService
from eoplex_common.settings import ServiceAddresses
from eoplex_common.streams import watch_catalog
from eoplex_executor.engine.run import run_to_file
from eoplex_executor.engine.settings import ExecutorSettings
from eoplex_executor.io.gdal import gdal_environment
from eoplex_executor.serve.service import SyncProcessingService, WorkerPool
from eoplex_executor.serve.servicer import ExecutorServicer
from eoplex_executor.serve.worker import Runner, WorkerConfig
from eoplex_executor.udf.sandbox import udf_sandbox
from eoplex_executor.udf.scratch import sweep
from eoplex_proto.openeo.executor.v1 import executor_pb2_grpc


def worker_config(
    settings: ExecutorSettings,
    *,
    catalog_address: str,
    processes_address: str | None = None,
    files_address: str | None = None,
    jobs_address: str | None = None,
    run: Runner = run_to_file,
) -> WorkerConfig:
    """How each worker is set up: GDAL and S3, dask threads, the catalog, the processes,
    files and jobs services (the caller's user-defined processes, files and job results),
    logging."""
    return WorkerConfig(
        environment=gdal_environment(settings, cachemax_mb=settings.gdal_cachemax_mb),
        dask_threads=settings.dask_threads,
        catalog_address=catalog_address,
        catalog_timeout_seconds=settings.rpc_timeout_seconds,
        processes_address=processes_address,
        files_address=files_address,
        jobs_address=jobs_address,
        log_level=settings.log_level,
        log_format=settings.log_format,
        graph_limits=settings.graph_limits(),
        udf_sandbox=udf_sandbox(settings, synchronous=True),
        run=run,
    )


def build_executor_server(settings: ExecutorSettings, pool: WorkerPool) -> GrpcService:
    """A gRPC server (not yet started) answering `openeo.executor.v1` with `pool`."""
    service = SyncProcessingService(
        pool=pool,
        scratch_root=settings.scratch_dir,
        max_concurrent_per_user=settings.max_concurrent_per_user,
        timeout_seconds=settings.sync_timeout_seconds,
        cost_per_megapixel=settings.cost_per_megapixel,
    )
    grpc_service = GrpcService(
        name="executor", listen=settings.listen, grace_seconds=settings.shutdown_grace_seconds
    )
    executor_pb2_grpc.add_ExecutorServiceServicer_to_server(
        ExecutorServicer(
            service,
            sync_udf=udf_sandbox(settings, synchronous=True),
            batch_udf=udf_sandbox(settings, synchronous=False),
        ),
        grpc_service.server,
    )
    return grpc_service


async def serve(settings: ExecutorSettings, addresses: ServiceAddresses) -> None:
    """Start the workers, tell them of catalog changes, serve until SIGTERM/SIGINT, let
    running requests finish within the grace period, then stop the workers."""
    config = worker_config(
        settings,
        catalog_address=addresses.data_discovery_address,
        processes_address=addresses.processes_address,
        files_address=addresses.files_address,
        jobs_address=addresses.jobs_address,
    )
    # Scratch directories of requests and jobs that were killed (their UDF processes too).
    sweep(settings.scratch_dir)
    nats = await connect_nats(settings.nats_url, name="executor")
    try:
        pool = WorkerPool(size=settings.workers, config=config)
        await pool.start()
        try:
            await watch_catalog(nats.jetstream(), on_change=pool.catalog_changed)
            await build_executor_server(settings, pool).run_until_signal()
        finally:
            await pool.stop()
    finally:
        await nats.close()


def main() -> None:
    """Entry point: `python -m eoplex_executor`."""
    addresses = ServiceAddresses()
    run_service(
        name="executor", settings=ExecutorSettings(), serve=partial(serve, addresses=addresses)
    )
