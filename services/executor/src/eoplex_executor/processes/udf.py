"""run_udf: user-defined Python functions, written against the `openeo.udf` API, on data cubes.

A UDF is Python source code defining one of the entry points of the openeo UDF API
(`openeo.udf.run_code.run_udf_code` finds and calls it), with or without annotations
(`eoplex_executor.udf.runtime` recognises them by name):

- `apply_datacube(cube, context)` returning an `xarray.DataArray` (or, annotated with
  `XarrayDataCube`, the same with `XarrayDataCube`), `apply_hypercube`;
- `apply_timeseries(series, context)` returning a `pandas.Series`, called for every
  pixel's values along `t`;
- a function taking one `UdfData` argument, which replaces its data cube list.

What the UDF sees depends on where `run_udf` is called (see `eoplex_executor.engine.cube`):

- as the child of `apply` (`x`): every dask chunk of the cube, as it is; the result
  must have the chunk's dimensions and shape (apply keeps the cube's shape);
- as the child of `apply_dimension` / `reduce_dimension` (`data`, a DimensionArray):
  chunks holding the whole `dimension` (the cube is rechunked along it); the result
  may change its length or drop it (a reducer); a length of one is dropped, so the
  same UDF serves both processes;
- on a cube (`run_udf(data=cube)`): spatial chunks holding every label of the other
  dimensions, which the result may drop or resize; x and y stay as they are.

Chunks run lazily with `map_blocks`, in the process that computes the graph: a
synchronous worker or a batch job's `run-job` process, never the gRPC server (which
only estimates, and never runs UDF code). The first chunk is computed when the graph is
built, to learn the result's dimensions and data type; its result is reused. An
exception in the UDF becomes ProcessParameterInvalid of `udf`, whose reason carries
the traceback's UDF frames; the worker keeps serving.

UDF code never runs in the executor's own processes: each execution runs it in
confined processes of its own (`eoplex_executor.udf.process`: no network, none of the
executor's variables or memory), one chunk at a time per process. `openeo.udf` caches a
module per code text within such a process (so UDFs can cache too), for that execution.
"""

import itertools
import os
import platform
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask.array
import numpy as np
import xarray as xr

from eoplex_common.errors import (
    EstimateComplexity,
    InvalidRuntime,
    InvalidVersion,
    ProcessParameterInvalid,
)
from eoplex_executor.engine.cube import SPATIAL, DimensionArray, RasterCube
from eoplex_executor.engine.environment import Environment
from eoplex_executor.engine.registry import process
from eoplex_executor.processes.inspection import log_entry
from eoplex_executor.udf.output import UdfLogEntry
from eoplex_executor.udf.process import UdfOutputSink, UdfProcesses
from eoplex_executor.udf.runtime import PROCESS, UdfProgram
from eoplex_executor.udf.sandbox import UdfSandbox

RUNTIME = "Python"
# The `Environment.resources` entries of an execution's UDF processes and UDF output.
UDF_PROCESSES = "udf_processes"
UDF_OUTPUT = "udf_output"
# Entries of UDF output (printed text, `openeo.udf.inspect`) one execution logs.
OUTPUT_ENTRIES = 200


def runtime_versions() -> tuple[str, ...]:
    """The versions `run_udf` accepts for the Python runtime: this interpreter's `3.11`, `3`
    and `3.11.x` (`GET /udf_runtimes` lists `3.11` as the default)."""
    major, minor = sys.version_info[:2]
    return (f"{major}.{minor}", str(major), platform.python_version())


@process("run_udf", environment=True)
def run_udf(
    data: Any,
    udf: str,
    runtime: str,
    env: Environment,
    version: str | None = None,
    context: Any = None,
) -> Any:
    """openEO `run_udf`: run Python UDF code (inline, or a file of the user's workspace) on
    `data` chunk by chunk (see the module's documentation).

    Raises InvalidRuntime or InvalidVersion for another runtime or version, and
    ProcessParameterInvalid for UDFs by URL, code with a syntax error, a UDF that raises (its
    traceback in the reason), defines no entry point or returns the wrong type or shape,
    and data that is no raster data cube; FileNotFound for a missing workspace file;
    EstimateComplexity when estimating a UDF whose result shape only running it tells.
    """
    _check_runtime(runtime, version)
    support = _sandbox(env).support()
    if not support.runs_udfs:
        raise ProcessParameterInvalid(process=PROCESS, parameter="runtime", reason=support.reason)
    program = UdfProgram.compile(_udf_code(udf, env))
    output = _udf_log(env).sink(udf if _is_path(udf) else program.entry_point)
    if isinstance(data, RasterCube):
        whole = [dim for dim in data.dims if data.dimension_types.get(dim) != SPATIAL]
        return data.with_data(_map_udf(data.data, whole, program, context, output, env=env))
    if isinstance(data, DimensionArray):
        result = _map_udf(data.data, [data.dimension], program, context, output, env=env)
        if data.dimension in result.dims and result.sizes[data.dimension] == 1:
            # One value per pixel: a reducer's result (apply_dimension expands it again).
            result = result.squeeze(data.dimension, drop=True)
        return result
    if isinstance(data, xr.DataArray):
        return _map_udf(data, [], program, context, output, env=env)
    raise ProcessParameterInvalid(
        process=PROCESS,
        parameter="data",
        reason="eoplex runs UDFs on raster data cubes: call run_udf on a cube, or as the "
        "child process of apply, apply_dimension or reduce_dimension",
    )


def _check_runtime(runtime: str, version: str | None) -> None:
    if str(runtime).lower() != RUNTIME.lower():
        raise InvalidRuntime(
            process=PROCESS,
            parameter="runtime",
            reason=f"the runtime {runtime!r} is not supported; GET /udf_runtimes lists {RUNTIME!r}",
        )
    if version is not None and version not in runtime_versions():
        raise InvalidVersion(
            process=PROCESS,
            parameter="version",
            reason=f"{RUNTIME} {version} is not available; "
            f"the runtime is {RUNTIME} {runtime_versions()[0]}",
        )


def _udf_code(udf: str, env: Environment) -> str:
    """The UDF's source: inline code (it has a line break, as the spec says), or a file of
    the user's workspace. URLs are refused: fetching code from anywhere is not offered."""
    if not isinstance(udf, str) or not udf.strip():
        raise ProcessParameterInvalid(
            process=PROCESS, parameter="udf", reason="expected the UDF's source code"
        )
    if not _is_path(udf):
        return udf
    if udf.lower().startswith(("http://", "https://")):
        raise ProcessParameterInvalid(
            process=PROCESS,
            parameter="udf",
            reason="UDFs by URL are not supported; give the code inline or upload it to your "
            "workspace (/files) and give its path",
        )
    target = env.scratch_dir / f"udf-{abs(hash(udf))}.py"
    return Path(env.user_files.download(udf, target)).read_text(encoding="utf-8")


def _is_path(udf: str) -> bool:
    """Whether `udf` names a file rather than holding code (which has a line break)."""
    return "\n" not in udf and "\r" not in udf


class _UdfLog:
    """What an execution's UDFs print and inspect, forwarded to its log (`log_entry`: the
    executor's log, a batch job's log events) with the UDF's name, OUTPUT_ENTRIES entries
    at most; one more says that the rest is left out."""

    def __init__(self) -> None:
        self._entries = itertools.count(1)

    def sink(self, name: str) -> UdfOutputSink:
        """Where the output of the UDF called `name` goes."""

        def forward(entry: UdfLogEntry) -> None:
            number = next(self._entries)
            if number <= OUTPUT_ENTRIES:
                log_entry(entry.level, f"UDF {name}: {entry.message}", entry.data)
            elif number == OUTPUT_ENTRIES + 1:
                log_entry(
                    "warning",
                    f"UDF {name}: further output left out (at most {OUTPUT_ENTRIES} entries "
                    "of UDF output per job or request)",
                    None,
                )

        return forward

    def close(self) -> None:
        """Nothing to release (an `Environment.resources` entry is closed with it)."""


def _udf_log(env: Environment) -> _UdfLog:
    """The execution's one `_UdfLog`, shared by all its UDFs."""
    udf_log = env.resources.get(UDF_OUTPUT)
    if udf_log is None:
        udf_log = env.resources[UDF_OUTPUT] = _UdfLog()
    return udf_log


@dataclass(frozen=True)
class _Layout:
    """What the UDF makes of a chunk: its dimensions, the lengths of the whole dimensions it
    keeps, their labels and the data type."""

    dims: tuple[str, ...]
    sizes: Mapping[str, int]
    labels: Mapping[str, np.ndarray]
    dtype: np.dtype


def _map_udf(
    array: xr.DataArray,
    whole: Sequence[str],
    program: UdfProgram,
    context: Any,
    output: UdfOutputSink,
    *,
    env: Environment,
) -> xr.DataArray:
    """`program` on every chunk of `array`, lazily; `whole` dimensions are in one chunk each
    and may be resized or dropped by the UDF, the others keep their chunks and labels."""
    dims = tuple(str(dim) for dim in array.dims)
    processes = _udf_processes(env)

    def run(chunk: xr.DataArray) -> xr.DataArray:
        return processes.run(program.code, chunk, context, output=output)

    values = array.data
    if not isinstance(values, dask.array.Array):
        values = dask.array.from_array(values, chunks=-1)
    source = values.rechunk({dims.index(dim): -1 for dim in whole})
    coords = {dim: array.coords[dim].values for dim in dims if dim in array.coords}

    def chunk_of(block: np.ndarray, location: Sequence[tuple[int, int]]) -> xr.DataArray:
        labels = {
            dim: coords[dim][start:stop]
            for dim, (start, stop) in zip(dims, location, strict=True)
            if dim in coords
        }
        return xr.DataArray(block, dims=dims, coords=labels, name=array.name)

    # The first chunk's result, computed to learn the layout, is handed out once.
    first: dict[str, np.ndarray] = {}
    if env.estimate is None:
        origin = tuple(0 for _ in dims)
        location = [(0, chunks[0]) for chunks in source.chunks]
        probe = run(chunk_of(source.blocks[origin].compute(), location))
        layout = _layout(probe, dims, whole, array)
        sizes = {dim: chunks[0] for dim, chunks in zip(dims, source.chunks, strict=True)}
        first["values"] = _conformed(probe, layout, whole, sizes)
    elif whole:
        # Estimates run in the gRPC server, which never runs UDF code.
        raise EstimateComplexity(
            "The process is too complex to calculate an estimate: the shape of a UDF's result "
            "along the dimensions it sees whole is only known by running it."
        )
    else:
        layout = _Layout(dims, {}, {}, array.dtype)

    def run_block(block: np.ndarray, block_info: dict[Any, Any] | None = None) -> np.ndarray:
        assert block_info is not None
        if "values" in first and not any(block_info[0]["chunk-location"]):
            return first.pop("values")
        location = block_info[0]["array-location"]
        chunk = chunk_of(block, location)
        result = run(chunk)
        sizes = {dim: stop - start for dim, (start, stop) in zip(dims, location, strict=True)}
        return _conformed(result, layout, whole, sizes)

    kept = [index for index, dim in enumerate(dims) if dim in layout.dims]
    chunks = tuple(
        (layout.sizes[dims[index]],) if dims[index] in whole else source.chunks[index]
        for index in kept
    )
    mapped = dask.array.map_blocks(
        run_block,
        source,
        # A name of its own: hashing the closure (it holds the first chunk's result) to
        # name the tasks would pickle it, which cost more than running the UDF.
        name=f"run_udf-{uuid.uuid4().hex}",
        dtype=layout.dtype,
        chunks=chunks,
        drop_axis=[index for index in range(len(dims)) if index not in kept],
        meta=np.empty((0,) * len(kept), dtype=layout.dtype),
    )
    out_coords = {
        dim: layout.labels[dim] if dim in layout.labels else coords[dim]
        for dim in layout.dims
        if dim in coords or dim in layout.labels
    }
    return xr.DataArray(mapped, dims=layout.dims, coords=out_coords, name=array.name)


def _sandbox(env: Environment) -> UdfSandbox:
    """How the execution's UDF processes are confined (the default sandbox if unset)."""
    return env.limits.udf or UdfSandbox()


def _udf_processes(env: Environment) -> UdfProcesses:
    """The execution's UDF processes, as many as it computes chunks at once (the dask
    threads), or `OPENEO_EXECUTOR_UDF_PROCESSES`."""
    processes = env.resources.get(UDF_PROCESSES)
    if processes is None:
        configured = int(os.environ.get("OPENEO_EXECUTOR_UDF_PROCESSES", "0") or 0)
        threads = dask.config.get("num_workers", None) or os.cpu_count() or 1
        processes = UdfProcesses(
            env.scratch_dir, limit=configured or int(threads), sandbox=_sandbox(env)
        )
        env.resources[UDF_PROCESSES] = processes
    return processes


def _shape_error(reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process=PROCESS, parameter="udf", reason=reason)


def _layout(
    result: xr.DataArray, dims: tuple[str, ...], whole: Sequence[str], array: xr.DataArray
) -> _Layout:
    """The layout of every chunk's result, from the first chunk's; only `whole` dimensions
    may be dropped or resized, and no dimension added."""
    extra = [str(dim) for dim in result.dims if dim not in dims]
    if extra:
        raise _shape_error(
            f"the UDF returned the dimensions {', '.join(extra)}, which the data lacks; "
            f"its dimensions are {', '.join(dims)}"
        )
    dropped = [dim for dim in dims if dim not in result.dims and dim not in whole]
    if dropped:
        raise _shape_error(
            f"the UDF dropped the dimensions {', '.join(dropped)}, which it sees in chunks "
            "and must keep"
        )
    if result.dtype == object:
        raise _shape_error("the UDF returned objects, not numbers or booleans")
    kept = tuple(dim for dim in dims if dim in result.dims)
    sizes = {dim: int(result.sizes[dim]) for dim in kept if dim in whole}
    labels: dict[str, np.ndarray] = {}
    for dim, size in sizes.items():
        if size == array.sizes[dim]:
            continue
        own = result.coords[dim].values if dim in result.coords else None
        labels[dim] = own if own is not None and len(own) == size else np.arange(size)
    return _Layout(kept, sizes, labels, result.dtype)


def _conformed(
    result: xr.DataArray, layout: _Layout, whole: Sequence[str], sizes: Mapping[str, int]
) -> np.ndarray:
    """A chunk's result as an array in `layout` (dimension order, data type); an error when
    its dimensions or shape differ from what the chunk (of `sizes`) must give."""
    if set(map(str, result.dims)) != set(layout.dims):
        raise _shape_error(
            f"the UDF returned the dimensions {', '.join(map(str, result.dims))} for one chunk "
            f"but {', '.join(layout.dims)} for another"
        )
    ordered = result.transpose(*layout.dims)
    expected = tuple(layout.sizes[dim] if dim in whole else sizes[dim] for dim in layout.dims)
    if ordered.shape != expected:
        shape = dict(zip(layout.dims, ordered.shape, strict=True))
        wanted = dict(zip(layout.dims, expected, strict=True))
        raise _shape_error(
            f"the UDF returned a chunk of shape {shape}, expected {wanted}: "
            + (
                "apply keeps the shape of the data"
                if not whole
                else f"only the dimensions {', '.join(whole)} may change length"
            )
        )
    return np.asarray(ordered.values, dtype=layout.dtype)
