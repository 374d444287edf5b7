"""The `serve` pool through its real gRPC server (in-process) and real worker processes.

Workers run `run_for_tests`: `run_to_file`, plus hooks a process can ask for in its
`test` member, so a request can block deterministically (until its worker is
killed), count pixels, or report how its worker is set up.
"""

import asyncio
import json
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import grpc
import nats
import numpy as np
import pytest
import rasterio
from rasterio.env import get_gdal_config
from rasterio.transform import Affine

from conftest import Infrastructure
from eoplex_common import errors
from eoplex_common.events import publish_event
from eoplex_common.rpc import GrpcService, open_channel
from eoplex_common.s3 import connect_s3
from eoplex_common.settings import InfrastructureSettings
from eoplex_common.streams import collection_subject, collection_updated_payload, watch_catalog
from eoplex_executor.engine.environment import Environment, ResultFile
from eoplex_executor.engine.run import run_to_file
from eoplex_executor.engine.settings import ExecutorSettings
from eoplex_executor.io.gdal import REMOTE_COG_OPTIONS, gdal_environment
from eoplex_executor.serve.server import build_executor_server, worker_config
from eoplex_executor.serve.service import WorkerPool
from eoplex_proto.openeo.executor.v1 import executor_pb2 as pb
from eoplex_proto.openeo.executor.v1 import executor_pb2_grpc

MIB = 1024 * 1024
ADD_GRAPH = {"a": {"process_id": "add", "arguments": {"x": 40, "y": 2}, "result": True}}
WORKER_VARIABLES = ("GDAL_CACHEMAX", "AWS_S3_ENDPOINT", "AWS_HTTPS", "AWS_VIRTUAL_HOSTING")


def run_for_tests(process: Mapping[str, Any], env: Environment) -> ResultFile:
    """`run_to_file`, unless the process's `test` member asks for a hook:

    - `block`: write the worker's pid to this file, then never return;
    - `bytes`: answer a file of that many bytes (`i % 251` at offset i);
    - `worker`: answer the worker's GDAL and dask settings as JSON;
    - `pixels`: count that many pixels as read, then run the process;
    - `read`: answer the mean and shape of the first band of this raster as JSON.
    """
    test = process.get("test", {})
    if "read" in test:
        with rasterio.open(test["read"]) as dataset:
            band = dataset.read(1)
        path = env.scratch_dir / "read.json"
        path.write_text(json.dumps({"mean": float(band.mean()), "shape": list(band.shape)}))
        return ResultFile(path, "application/json")
    if "block" in test:
        Path(test["block"]).write_text(str(os.getpid()))
        threading.Event().wait()
    if "bytes" in test:
        path = env.scratch_dir / "result.bin"
        path.write_bytes(bytes(i % 251 for i in range(test["bytes"])))
        return ResultFile(path, "application/octet-stream")
    if "worker" in test:
        path = env.scratch_dir / "worker.json"
        report = {name: get_gdal_config(name) for name in WORKER_VARIABLES}
        report["scheduler"] = dask.config.get("scheduler")
        report["num_workers"] = dask.config.get("num_workers")
        path.write_text(json.dumps(report))
        return ResultFile(path, "application/json")
    env.pixels += test.get("pixels", 0)
    return run_to_file(process, env)


@dataclass
class Executor:
    """A running executor server and a client of it."""

    server: GrpcService
    pool: WorkerPool
    stub: executor_pb2_grpc.ExecutorServiceStub
    settings: ExecutorSettings

    def execute(self, process: dict[str, Any], *, user: str = "alice", max_pixels: int = 0) -> Any:
        request = pb.ExecuteRequest(
            process_json=json.dumps(process), user_id=user, tenant_id="t1", max_pixels=max_pixels
        )
        return self.stub.Execute(request)


StartExecutor = Callable[..., Any]


@pytest.fixture
async def start_executor(tmp_path: Path) -> AsyncIterator[StartExecutor]:
    """Starts executors with test settings; stops them and checks no scratch dir is left."""
    started: list[tuple[Executor, grpc.aio.Channel]] = []

    async def start(**overrides: Any) -> Executor:
        defaults: dict[str, Any] = {
            "listen": "127.0.0.1:0",
            "workers": 2,
            "scratch_dir": tmp_path / "scratch",
            "dask_threads": 3,
            "s3_endpoint": "http://127.0.0.1:9999",
            "shutdown_grace_seconds": 0.1,
        }
        settings = ExecutorSettings(**(defaults | overrides))
        config = worker_config(settings, catalog_address="127.0.0.1:1", run=run_for_tests)
        pool = WorkerPool(size=settings.workers, config=config)
        await pool.start()
        server = build_executor_server(settings, pool)
        await server.start()
        channel = open_channel(
            service="executor", address=f"127.0.0.1:{server.port}", timeout_seconds=30
        )
        executor = Executor(server, pool, executor_pb2_grpc.ExecutorServiceStub(channel), settings)
        started.append((executor, channel))
        return executor

    yield start
    for executor, channel in started:
        await channel.close()
        await executor.server.stop()
        await executor.pool.stop()
    scratch = tmp_path / "scratch"
    await eventually(lambda: not scratch.exists() or not any(scratch.iterdir()))


async def eventually(condition: Callable[[], bool], *, seconds: float = 10) -> None:
    """Wait until `condition()` holds, e.g. a file a worker writes exists."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def is_running(pid: int) -> bool:
    """Whether process `pid` exists and is no zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


async def blocked_worker(executor: Executor, marker: Path, *, user: str = "alice") -> Any:
    """A call whose worker blocks; returns once the worker wrote its pid to `marker`."""
    call = executor.execute({"process_graph": ADD_GRAPH, "test": {"block": str(marker)}}, user=user)
    # Reading makes the call start; it completes only when the worker is killed.
    reading = asyncio.ensure_future(read_all(call))
    await eventually(lambda: marker.exists() and marker.read_text() != "")
    return call, reading


async def read_all(call: Any) -> list[pb.ResultChunk]:
    return [chunk async for chunk in call]


async def test_json_result_is_streamed_after_its_metadata(start_executor: StartExecutor) -> None:
    executor = await start_executor()
    chunks = await read_all(executor.execute({"process_graph": ADD_GRAPH}))
    first, rest = chunks[0], chunks[1:]
    assert first.media_type == "application/json"
    assert first.filename.endswith(".json")
    assert first.data == b""
    body = b"".join(chunk.data for chunk in rest)
    assert json.loads(body) == 42
    assert first.size == len(body)
    assert first.costs == 0


async def test_large_file_arrives_in_one_mib_chunks(start_executor: StartExecutor) -> None:
    executor = await start_executor()
    size = 2 * MIB + 123
    process = {"process_graph": ADD_GRAPH, "test": {"bytes": size}}
    chunks = await read_all(executor.execute(process))
    assert chunks[0].size == size
    assert [len(chunk.data) for chunk in chunks[1:]] == [MIB, MIB, 123]
    assert b"".join(chunk.data for chunk in chunks) == bytes(i % 251 for i in range(size))


async def test_costs_are_charged_per_megapixel_read(start_executor: StartExecutor) -> None:
    executor = await start_executor(cost_per_megapixel=0.02)
    process = {"process_graph": ADD_GRAPH, "test": {"pixels": 2_500_000}}
    chunks = await read_all(executor.execute(process))
    assert chunks[0].costs == pytest.approx(2.5 * 0.02)


@pytest.mark.parametrize(
    ("graph", "error", "message"),
    [
        (
            {"a": {"process_id": "no_such_process", "arguments": {}, "result": True}},
            errors.ProcessUnsupported,
            "'no_such_process'",
        ),
        (
            {
                "a": {"process_id": "add", "arguments": {"x": 1, "y": 2}},
                "s": {
                    "process_id": "save_result",
                    "arguments": {"data": {"from_node": "a"}, "format": "NoSuchFormat"},
                    "result": True,
                },
            },
            errors.ProcessParameterInvalid,
            "'NoSuchFormat' is not an output format",
        ),
        (
            {
                "a": {
                    "process_id": "array_element",
                    "arguments": {"data": [1], "index": 3},
                    "result": True,
                }
            },
            errors.ArrayElementNotAvailable,
            "^The array has no element with the specified index or label. "
            "Process 'array_element', parameter 'index'.$",
        ),
    ],
)
async def test_graph_errors_arrive_as_the_same_openeo_error(
    start_executor: StartExecutor, graph: dict[str, Any], error: type[Exception], message: str
) -> None:
    executor = await start_executor()
    with pytest.raises(error, match=message):
        await read_all(executor.execute({"process_graph": graph}))


async def test_invalid_json_is_a_bad_request(start_executor: StartExecutor) -> None:
    executor = await start_executor()
    request = pb.ExecuteRequest(process_json="{", user_id="alice")
    with pytest.raises(errors.BadRequest):
        await read_all(executor.stub.Execute(request))


async def test_per_user_limit_refuses_at_once_and_other_users_wait_for_a_worker(
    start_executor: StartExecutor, tmp_path: Path
) -> None:
    executor = await start_executor(max_concurrent_per_user=2)
    first_call, first = await blocked_worker(executor, tmp_path / "first")
    second_call, second = await blocked_worker(executor, tmp_path / "second")

    started = time.monotonic()
    with pytest.raises(errors.TooManyRequests):
        await read_all(executor.execute({"process_graph": ADD_GRAPH}))
    assert time.monotonic() - started < 2

    # Bob is within his limit but both workers are busy: he waits for one.
    bob = asyncio.ensure_future(
        read_all(executor.execute({"process_graph": ADD_GRAPH}, user="bob"))
    )
    await asyncio.sleep(0.2)
    assert not bob.done()
    first_pid = int((tmp_path / "first").read_text())
    first_call.cancel()
    await eventually(lambda: not is_running(first_pid))
    chunks = await asyncio.wait_for(bob, 10)
    assert json.loads(b"".join(chunk.data for chunk in chunks)) == 42
    assert first.cancelled() or first.exception() is not None

    # Alice has one slot again.
    chunks = await read_all(executor.execute({"process_graph": ADD_GRAPH}))
    assert json.loads(b"".join(chunk.data for chunk in chunks)) == 42
    second_call.cancel()
    await asyncio.gather(second, return_exceptions=True)


async def test_cancelled_call_kills_and_replaces_its_worker(
    start_executor: StartExecutor, tmp_path: Path
) -> None:
    executor = await start_executor(workers=1)
    call, reading = await blocked_worker(executor, tmp_path / "marker")
    pid = int((tmp_path / "marker").read_text())
    call.cancel()
    await asyncio.gather(reading, return_exceptions=True)
    await eventually(lambda: not is_running(pid))
    chunks = await asyncio.wait_for(read_all(executor.execute({"process_graph": ADD_GRAPH})), 10)
    assert json.loads(b"".join(chunk.data for chunk in chunks)) == 42


async def test_timeout_kills_the_worker_and_the_pool_answers_afterwards(
    start_executor: StartExecutor, tmp_path: Path
) -> None:
    # Long enough for a worker of a loaded machine to start the blocking call (and write
    # its marker) before the timeout kills it.
    executor = await start_executor(workers=1, sync_timeout_seconds=6)
    _, reading = await blocked_worker(executor, tmp_path / "marker")
    pid = int((tmp_path / "marker").read_text())
    with pytest.raises(errors.RequestTimeout, match=r"within 6 seconds.*batch job"):
        await asyncio.wait_for(reading, 15)
    await eventually(lambda: not is_running(pid))
    # The replacement must be ready within the same 6 s: on a loaded machine a first try
    # may time out too (and have its worker replaced); the pool must answer in the end.
    for _ in range(5):
        try:
            chunks = await asyncio.wait_for(
                read_all(executor.execute({"process_graph": ADD_GRAPH})), 10
            )
            break
        except errors.RequestTimeout:
            continue
    else:
        pytest.fail("the pool answered no request after a timeout killed its worker")
    assert json.loads(b"".join(chunk.data for chunk in chunks)) == 42


async def test_worker_killed_mid_request_is_internal_and_replaced(
    start_executor: StartExecutor, tmp_path: Path
) -> None:
    executor = await start_executor(workers=1)
    _, reading = await blocked_worker(executor, tmp_path / "marker")
    os.kill(int((tmp_path / "marker").read_text()), signal.SIGKILL)
    with pytest.raises(errors.Internal, match="ended unexpectedly"):
        await asyncio.wait_for(reading, 5)
    chunks = await asyncio.wait_for(read_all(executor.execute({"process_graph": ADD_GRAPH})), 10)
    assert json.loads(b"".join(chunk.data for chunk in chunks)) == 42


async def test_workers_are_set_up_for_gdal_s3_and_dask(start_executor: StartExecutor) -> None:
    executor = await start_executor(gdal_cachemax_mb=64)
    chunks = await read_all(executor.execute({"process_graph": ADD_GRAPH, "test": {"worker": 1}}))
    report = json.loads(b"".join(chunk.data for chunk in chunks))
    assert report == {
        # rasterio answers the size of GDAL's block cache, in bytes.
        "GDAL_CACHEMAX": 64 * MIB,
        "AWS_S3_ENDPOINT": "127.0.0.1:9999",
        "AWS_HTTPS": "NO",
        "AWS_VIRTUAL_HOSTING": "FALSE",
        "scheduler": "threads",
        "num_workers": 3,
    }


def test_gdal_environment_reads_s3_from_the_infrastructure_settings() -> None:
    infrastructure = InfrastructureSettings(
        s3_endpoint="https://s3.example:9000",
        s3_access_key="key",
        s3_secret_key="secret",
        s3_region="eu-central-1",
    )
    assert gdal_environment(infrastructure, cachemax_mb=256) == {
        "GDAL_CACHEMAX": "256",
        **REMOTE_COG_OPTIONS,
        "AWS_S3_ENDPOINT": "s3.example:9000",
        "AWS_HTTPS": "YES",
        "AWS_VIRTUAL_HOSTING": "FALSE",
        "AWS_ACCESS_KEY_ID": "key",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_REGION": "eu-central-1",
    }


def write_cog(path: Path, *, value: int, size: int) -> Path:
    """A `size` x `size` COG of one band, every pixel `value`."""
    profile = {
        "driver": "COG",
        "width": size,
        "height": size,
        "count": 1,
        "dtype": "uint16",
        "crs": "EPSG:32633",
        "transform": Affine(10, 0, 500000, 0, -10, 5000000),
    }
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(np.full((1, size, size), value, dtype="uint16"))
    return path


async def test_a_catalog_change_makes_workers_read_overwritten_assets_again(
    start_executor: StartExecutor, infrastructure: Infrastructure, tmp_path: Path
) -> None:
    """A re-ingest overwrites assets under the same keys; a worker's GDAL would go on
    reading the old file from its cache for the worker's life, were it not told."""
    s3 = connect_s3(InfrastructureSettings(**infrastructure.env))
    bucket, key = "executor-catalog-change", "S2/item-1/B04.tif"
    if not s3.bucket_exists(bucket):
        s3.make_bucket(bucket)
    executor = await start_executor(
        workers=1,
        s3_endpoint=infrastructure.s3_endpoint,
        s3_access_key=infrastructure.s3_credentials.access_key,
        s3_secret_key=infrastructure.s3_credentials.secret_key,
    )
    connection = await nats.connect(infrastructure.nats_url)
    try:
        js = connection.jetstream()
        await watch_catalog(js, on_change=executor.pool.catalog_changed)

        async def read() -> Any:
            process = {"process_graph": ADD_GRAPH, "test": {"read": f"s3://{bucket}/{key}"}}
            chunks = await read_all(executor.execute(process))
            return json.loads(b"".join(chunk.data for chunk in chunks))

        s3.fput_object(bucket, key, str(write_cog(tmp_path / "old.tif", value=1, size=64)))
        assert await read() == {"mean": 1.0, "shape": [64, 64]}
        s3.fput_object(bucket, key, str(write_cog(tmp_path / "new.tif", value=2, size=80)))
        payload = collection_updated_payload("S2", version="2")
        await publish_event(js, collection_subject("S2", "updated"), payload)
        await eventually(lambda: executor.pool.catalog_generation == 1)
        assert await read() == {"mean": 2.0, "shape": [80, 80]}
    finally:
        await connection.close()
