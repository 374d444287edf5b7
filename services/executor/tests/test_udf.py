"""run_udf: Python UDFs (the openeo.udf API) under apply, apply_dimension, reduce_dimension and
on a cube, compared with numpy; failures as openEO errors; a worker that survives them."""

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import dask.array
import numpy as np
import pytest
import xarray as xr

from eoplex_capabilities.service import build_udf_runtimes
from eoplex_common.errors import (
    EstimateComplexity,
    FileNotFound,
    InvalidRuntime,
    InvalidVersion,
    ProcessParameterInvalid,
)
from eoplex_executor.engine.cube import RasterCube
from eoplex_executor.engine.environment import Environment, Estimate, ResultFile
from eoplex_executor.engine.graph import execute
from eoplex_executor.processes.udf import RUNTIME, runtime_versions
from eoplex_executor.serve.service import WorkerPool
from eoplex_executor.serve.worker import Done, Failed, SyncTask, WorkerConfig
from eoplex_executor.udf.process import UdfProcesses, decode_array, encode_array
from eoplex_executor.udf.sandbox import SandboxUnavailable, seccomp_program
from services.executor.tests.cubes import make_cube, make_environment, run_graph

RESCALE = """
import xarray

def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    return cube * context["scale"] + context["offset"]
"""

# Uses the chunk's labels, so wrong labels on a chunk show in the values.
WITH_LABELS = """
import xarray

def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    return cube * 0 + cube.coords["x"] - cube.coords["y"]
"""

TIMESERIES = """
import pandas

def apply_timeseries(series: pandas.Series, context: dict) -> pandas.Series:
    return series - series.mean() + context.get("shift", 0)
"""

FAILING = """
import xarray

def check(values):
    if values.max() > 0:
        raise ValueError("values must not be positive")

def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    check(cube)
    return cube
"""


def udf_node(code: str, data: str, **arguments: Any) -> dict[str, Any]:
    """A child process graph calling run_udf on the parameter `data`."""
    return {
        "process_graph": {
            "udf": {
                "process_id": "run_udf",
                "arguments": {
                    "data": {"from_parameter": data},
                    "udf": code,
                    "runtime": "Python",
                    **arguments,
                },
                "result": True,
            }
        }
    }


def apply_graph(code: str, **arguments: Any) -> dict[str, Any]:
    return {
        "apply": {
            "process_id": "apply",
            "arguments": {
                "data": {"from_parameter": "cube"},
                "process": udf_node(code, "x", **arguments),
            },
            "result": True,
        }
    }


def dimension_graph(process_id: str, code: str, dimension: str, **arguments: Any) -> dict[str, Any]:
    child = "reducer" if process_id == "reduce_dimension" else "process"
    return {
        "node": {
            "process_id": process_id,
            "arguments": {
                "data": {"from_parameter": "cube"},
                "dimension": dimension,
                child: udf_node(code, "data", **arguments),
            },
            "result": True,
        }
    }


def chunked_cube() -> RasterCube:
    """make_cube with chunks of (1, 1, 2, 3) pixels, so a UDF runs on many chunks."""
    cube = make_cube(shape=(5, 7))
    return cube.with_data(cube.data.chunk({"t": 1, "bands": 1, "y": 2, "x": 3}))


def test_rescale_via_apply_runs_per_chunk_and_equals_numpy(tmp_path: Path) -> None:
    cube = chunked_cube()
    context = {"scale": 0.5, "offset": 3}
    result = run_graph(apply_graph(RESCALE, context=context), make_environment(tmp_path), cube=cube)
    assert isinstance(result, RasterCube)
    assert result.data.chunks == cube.data.chunks
    np.testing.assert_array_equal(result.data.values, cube.data.values * 0.5 + 3)
    assert result.labels("bands") == ["B04", "B08"]


def test_every_chunk_sees_its_own_labels(tmp_path: Path) -> None:
    cube = chunked_cube()
    result = run_graph(apply_graph(WITH_LABELS), make_environment(tmp_path), cube=cube)
    x, y = cube.data.coords["x"].values, cube.data.coords["y"].values
    expected = np.broadcast_to(x[np.newaxis, :] - y[:, np.newaxis], cube.data.shape)
    np.testing.assert_allclose(result.data.values, expected)


def test_rescale_via_apply_dimension_over_bands(tmp_path: Path) -> None:
    cube = chunked_cube()
    graph = dimension_graph("apply_dimension", RESCALE, "bands", context={"scale": 2, "offset": -1})
    result = run_graph(graph, make_environment(tmp_path), cube=cube)
    np.testing.assert_array_equal(result.data.values, cube.data.values * 2 - 1)
    assert result.labels("bands") == ["B04", "B08"]
    assert result.dims == cube.dims


def test_apply_timeseries_along_t(tmp_path: Path) -> None:
    cube = chunked_cube()
    graph = dimension_graph("apply_dimension", TIMESERIES, "t", context={"shift": 10})
    result = run_graph(graph, make_environment(tmp_path), cube=cube)
    values = cube.data.values.astype(np.float64)
    np.testing.assert_allclose(result.data.values, values - values.mean(axis=0) + 10, rtol=1e-6)
    assert result.labels("t") == cube.labels("t")


def test_apply_dimension_udf_that_changes_the_length(tmp_path: Path) -> None:
    code = """
import xarray

def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    return cube.isel(t=[0, -1]) * 10
"""
    cube = chunked_cube()
    result = run_graph(
        dimension_graph("apply_dimension", code, "t"), make_environment(tmp_path), cube=cube
    )
    np.testing.assert_array_equal(result.data.values, cube.data.values[[0, -1]] * 10)
    assert result.data.sizes["t"] == 2


def test_reduce_dimension_with_a_udf(tmp_path: Path) -> None:
    code = """
import xarray

def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    return cube.max(dim="t") - cube.min(dim="t")
"""
    cube = chunked_cube()
    result = run_graph(
        dimension_graph("reduce_dimension", code, "t"), make_environment(tmp_path), cube=cube
    )
    values = cube.data.values
    assert result.dims == ("bands", "y", "x")
    np.testing.assert_array_equal(result.data.values, values.max(axis=0) - values.min(axis=0))


def test_generic_udf_data_entry_point_on_a_whole_cube(tmp_path: Path) -> None:
    code = """
from openeo.udf import UdfData, XarrayDataCube

def transform(data: UdfData) -> UdfData:
    cube = data.get_datacube_list()[0].get_array()
    data.set_datacube_list([XarrayDataCube(cube.sel(bands=["B08"]) - cube.sel(bands="B04"))])
    return data
"""
    cube = chunked_cube()
    graph = {
        "udf": {
            "process_id": "run_udf",
            "arguments": {"data": {"from_parameter": "cube"}, "udf": code, "runtime": "python"},
            "result": True,
        }
    }
    result = run_graph(graph, make_environment(tmp_path), cube=cube)
    assert isinstance(result, RasterCube)
    # The UDF's own labels for the dimension it resized.
    assert result.labels("bands") == ["B08"]
    np.testing.assert_array_equal(
        result.data.values[:, 0], cube.data.values[:, 1] - cube.data.values[:, 0]
    )


def test_an_exception_in_the_udf_is_an_openeo_error_with_its_traceback(tmp_path: Path) -> None:
    with pytest.raises(ProcessParameterInvalid) as raised:
        run_graph(apply_graph(FAILING), make_environment(tmp_path), cube=chunked_cube())
    message = raised.value.message
    assert "ValueError: values must not be positive" in message
    assert 'File "<udf>", line 9, in apply_datacube\n    check(cube)' in message
    assert (
        'File "<udf>", line 6, in check\n    raise ValueError("values must not be positive")'
        in (message)
    )
    # Trimmed to the UDF's frames: nothing of the engine or of openeo.udf.
    assert "site-packages" not in message and "eoplex_executor" not in message


def test_an_exception_in_a_later_chunk_surfaces_when_computed(tmp_path: Path) -> None:
    code = """
import xarray

def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    if int(cube.coords["t"].dt.day[0]) == 11:
        raise RuntimeError("no data for the 11th")
    return cube
"""
    result = run_graph(apply_graph(code), make_environment(tmp_path), cube=chunked_cube())
    with pytest.raises(ProcessParameterInvalid, match="RuntimeError: no data for the 11th"):
        result.data.compute()


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    code = "import xarray\n\ndef apply_datacube(cube, context)\n    return cube\n"
    with pytest.raises(ProcessParameterInvalid, match="syntax error on line 3: def apply_datacube"):
        run_graph(apply_graph(code), make_environment(tmp_path), cube=chunked_cube())


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("return cube.values", "must return an xarray.DataArray"),
        ("return cube.isel(x=slice(0, 1))", "the UDF returned a chunk of shape"),
        ("return cube.expand_dims(z=[1])", "the UDF returned the dimensions z"),
        ("return cube.astype(object)", "objects, not numbers"),
    ],
)
def test_a_udf_returning_the_wrong_type_or_shape(tmp_path: Path, body: str, reason: str) -> None:
    code = (
        "import xarray\n\n"
        "def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:\n"
        f"    {body}\n"
    )
    with pytest.raises(ProcessParameterInvalid, match=reason):
        run_graph(apply_graph(code), make_environment(tmp_path), cube=chunked_cube())


def test_code_without_an_entry_point(tmp_path: Path) -> None:
    code = "import xarray\n\ndef rescale(cube, context):\n    return cube\n"
    with pytest.raises(ProcessParameterInvalid, match="defines none of the entry points"):
        run_graph(apply_graph(code), make_environment(tmp_path), cube=chunked_cube())


def test_runtime_version_and_udf_location_are_checked(tmp_path: Path) -> None:
    env = make_environment(tmp_path)
    cube = chunked_cube()
    with pytest.raises(InvalidRuntime, match="the runtime 'R'"):
        run_graph(apply_graph(RESCALE, runtime="R"), env, cube=cube)
    with pytest.raises(InvalidVersion, match=r"Python 2\.7"):
        run_graph(apply_graph(RESCALE, version="2.7"), env, cube=cube)
    with pytest.raises(ProcessParameterInvalid, match="UDFs by URL are not supported"):
        run_graph(apply_graph("https://example.com/udf.py"), env, cube=cube)
    with pytest.raises(FileNotFound):
        run_graph(apply_graph("udfs/rescale.py"), env, cube=cube)
    version = runtime_versions()[0]
    context = {"scale": 1, "offset": 0}
    result = run_graph(apply_graph(RESCALE, version=version, context=context), env, cube=cube)
    np.testing.assert_array_equal(result.data.values, cube.data.values)


def test_a_udf_from_the_users_workspace(tmp_path: Path) -> None:
    class Workspace:
        def download(self, path: str, target: Path) -> Path:
            assert path == "udfs/rescale.py"
            target.write_text(RESCALE)
            return target

    env = Environment(catalog=None, scratch_dir=tmp_path, user_files=Workspace())  # type: ignore[arg-type]
    cube = chunked_cube()
    graph = apply_graph("udfs/rescale.py", context={"scale": 3, "offset": 0})
    try:
        np.testing.assert_array_equal(
            run_graph(graph, env, cube=cube).data.values, cube.data.values * 3
        )
    finally:
        env.close()


def test_estimates_never_run_udf_code(tmp_path: Path) -> None:
    env = Environment(catalog=None, scratch_dir=tmp_path, estimate=Estimate())  # type: ignore[arg-type]
    # FAILING would raise on the first chunk: the estimate runs no chunk.
    result = run_graph(apply_graph(FAILING), env, cube=chunked_cube())
    assert result.data.shape == chunked_cube().data.shape
    with pytest.raises(EstimateComplexity):
        run_graph(dimension_graph("reduce_dimension", FAILING, "t"), env, cube=chunked_cube())


def test_data_that_is_no_cube_is_refused(tmp_path: Path) -> None:
    graph = {
        "udf": {
            "process_id": "run_udf",
            "arguments": {"data": [1, 2], "udf": RESCALE, "runtime": "Python"},
            "result": True,
        }
    }
    with pytest.raises(ProcessParameterInvalid, match="raster data cubes"):
        execute({"process_graph": graph}, make_environment(tmp_path))


# --- the worker process survives failing UDFs ---------------------------------------------


def run_with_test_cube(process: Mapping[str, Any], env: Environment) -> ResultFile:
    """A worker runner: the graph on `make_cube()` as its parameter `cube`; the values and the
    worker's pid as JSON."""
    cube = make_cube()
    result = execute(process, env, cube=cube.with_data(cube.data.chunk({"t": 1})))
    path = env.scratch_dir / "result.json"
    values = xr.DataArray(dask.array.asarray(result.data.data)).values
    path.write_text(json.dumps({"values": values.tolist(), "pid": os.getpid()}))
    return ResultFile(path, "application/json")


@contextlib.asynccontextmanager
async def pool_on_the_test_cube(
    environment: dict[str, str], dask_threads: int
) -> AsyncIterator[WorkerPool]:
    """A started pool of one worker that runs requests with `run_with_test_cube`; stopped at
    the end."""
    config = WorkerConfig(
        environment=environment,
        dask_threads=dask_threads,
        catalog_address="127.0.0.1:1",
        catalog_timeout_seconds=1.0,
        run=run_with_test_cube,
    )
    pool = WorkerPool(size=1, config=config)
    await pool.start()
    try:
        yield pool
    finally:
        await pool.stop()


async def test_the_worker_keeps_serving_after_failing_udfs(tmp_path: Path) -> None:
    exiting = RESCALE.replace('return cube * context["scale"]', "raise SystemExit(3)  #")
    async with pool_on_the_test_cube(environment={}, dask_threads=2) as pool:
        replies = []
        for index, code in enumerate([RESCALE, FAILING, exiting, RESCALE]):
            scratch = tmp_path / str(index)
            scratch.mkdir()
            task = SyncTask(
                process={"process_graph": apply_graph(code, context={"scale": 2, "offset": 1})},
                scratch_dir=scratch,
                max_pixels=0,
                request_id=f"r{index}",
            )
            replies.append(await pool.run(task, timeout_seconds=60))
    first, failed, exited, done = replies
    assert isinstance(failed, Failed) and failed.code == "ProcessParameterInvalid"
    assert "values must not be positive" in failed.message and "line 9" in failed.message
    assert isinstance(exited, Failed) and "SystemExit: 3" in exited.message
    assert isinstance(first, Done) and isinstance(done, Done)
    answer = json.loads(done.path.read_text())
    np.testing.assert_array_equal(np.array(answer["values"]), make_cube().data.values * 2 + 1)
    # The same worker process answered before and after the failures: it was never replaced.
    assert answer["pid"] == json.loads(first.path.read_text())["pid"]


def test_the_runtime_is_the_one_udf_runtimes_lists() -> None:
    runtimes = build_udf_runtimes()
    assert list(runtimes) == [RUNTIME]
    assert runtimes[RUNTIME]["default"] == runtime_versions()[0]
    assert list(runtimes[RUNTIME]["versions"]) == [runtime_versions()[0]]


# What a UDF can reach of the executor, as bits of every value: its variables (1), the
# worker's /proc environ (2) and memory (4), a TCP connection to `port` (8), another
# request's scratch file `other` (16).
PROBE = """
import os, socket
import xarray

def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    found = 0
    if any("worker-secret" in value for value in os.environ.values()):
        found |= 1
    for bit, name in ((2, "environ"), (4, "mem")):
        try:
            with open(f"/proc/{os.getppid()}/{name}", "rb") as file:
                file.read(1)
            found |= bit
        except OSError:
            pass
    try:
        socket.create_connection(("127.0.0.1", context["port"]), timeout=5).close()
        found |= 8
    except PermissionError:
        pass
    try:
        with open(context["other"], "rb") as file:
            file.read(1)
        found |= 16
    except PermissionError:
        pass
    return cube * 0 + found
"""


async def test_a_udf_reaches_no_secret_no_process_memory_and_no_network(tmp_path: Path) -> None:
    environment = {"AWS_SECRET_ACCESS_KEY": "worker-secret"}
    async with pool_on_the_test_cube(environment=environment, dask_threads=1) as pool:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            port = listener.getsockname()[1]
            other = tmp_path / "another-request" / "result.tif"
            other.parent.mkdir()
            other.write_bytes(b"another user's result")
            context = {"port": port, "other": str(other)}
            scratch = tmp_path / "this-request"
            scratch.mkdir()
            task = SyncTask(
                process={"process_graph": apply_graph(PROBE, context=context)},
                scratch_dir=scratch,
                max_pixels=0,
                request_id="probe",
            )
            reply = await pool.run(task, timeout_seconds=60)
    assert isinstance(reply, Done), reply
    assert np.unique(json.loads(reply.path.read_text())["values"]).tolist() == [0]


STATEFUL = """
import builtins
import xarray

def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    seen = getattr(builtins, "left_behind", 0)
    builtins.left_behind = 1
    return cube * 0 + seen
"""


def test_executions_never_share_a_udf_process(tmp_path: Path) -> None:
    cube = make_cube()
    first, second = make_environment(tmp_path), make_environment(tmp_path)
    once = run_graph(apply_graph(STATEFUL), first, cube=cube).data.values
    # The same execution reuses its process; another execution gets its own.
    again = run_graph(apply_graph(STATEFUL), first, cube=cube).data.values
    other = run_graph(apply_graph(STATEFUL), second, cube=cube).data.values
    assert (once.max(), again.min(), other.max()) == (0, 1, 0)
    processes = [process.process for process in first.resources["udf_processes"]._all]
    first.close()
    assert processes and all(process.poll() is not None for process in processes)


def test_a_udf_process_that_dies_is_a_clear_error(tmp_path: Path) -> None:
    code = RESCALE.replace('return cube * context["scale"]', "import os; os._exit(3)  #")
    with pytest.raises(ProcessParameterInvalid, match=r"ended unexpectedly \(exit status 3\)"):
        run_graph(apply_graph(code), make_environment(tmp_path), cube=chunked_cube())


@pytest.mark.parametrize(
    ("header", "buffers", "reason"),
    [
        ({"dims": ["x"], "shape": [2], "dtype": "|O", "labels": []}, [b"x" * 16], "data type"),
        ({"dims": ["x"], "shape": [2], "dtype": "<f8", "labels": []}, [b"x" * 8], "expected"),
        ({"dims": ["x", "x"], "shape": [1, 1], "dtype": "<f8", "labels": []}, [], "dimensions"),
        ({"dims": ["x"], "shape": [-1], "dtype": "<f8", "labels": []}, [], "dimensions"),
        (
            {"dims": ["x"], "shape": [1], "dtype": "<f8", "labels": [{"dim": "y", "dtype": "<f8"}]},
            [],
            "unknown dimension",
        ),
        (
            {"dims": ["x"], "shape": [2], "dtype": "<f8", "labels": [{"dim": "x", "strings": [1]}]},
            [],
            "not strings",
        ),
        ({"dims": ["x"], "shape": [1], "dtype": "<f8", "labels": 3}, [], "header"),
        ([1, 2], [], "header"),
    ],
)
def test_what_a_udf_process_answers_is_checked_before_use(
    header: Any, buffers: list[bytes], reason: str
) -> None:
    pending = list(buffers)

    def read_buffer(length: int) -> bytes:
        data = pending.pop(0) if pending else b""
        if len(data) != length:
            raise ValueError(f"expected {length} bytes")
        return data

    with pytest.raises(ValueError, match=reason):
        decode_array(json.dumps(header).encode(), read_buffer)


def test_answers_round_trip_with_labels_of_every_kind() -> None:
    array = xr.DataArray(
        np.arange(6, dtype=np.int16).reshape(2, 3),
        dims=["t", "bands"],
        coords={
            "t": np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[ns]"),
            "bands": ["B02", "B03", "B04"],
        },
        name="cube",
    )
    header, *buffers = encode_array(array)
    pending = list(buffers)
    decoded = decode_array(header, lambda length: pending.pop(0))
    xr.testing.assert_identical(decoded, array)


def test_no_sandbox_on_an_unknown_machine() -> None:
    with pytest.raises(SandboxUnavailable):
        seccomp_program("sparc", pid=1)


def test_closing_an_execution_stops_a_chunk_that_is_running(tmp_path: Path) -> None:
    slow = RESCALE.replace('return cube * context["scale"]', "import time; time.sleep(30)  #")
    processes = UdfProcesses(tmp_path, limit=1)
    block = xr.DataArray(np.ones((2, 2)), dims=("y", "x"))
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            processes.run(slow, block, {"scale": 1, "offset": 0})
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(3)  # the process has started and runs the chunk
    processes.close()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], ProcessParameterInvalid)
    assert "ended unexpectedly" in str(outcome[0])
