"""Pixel accounting: the pixels an execution reads and the values its processes produce,
held against the execution's limits while the graph is evaluated, before a pixel is read.

An execution's pixel count is what it reads plus what its processes produce:

- load_collection, load_stac and load_uploaded_files count the pixels they are about to
  read (`count_read`);
- every predefined process is metered (`metered`, installed by the registry): once it
  returned, the values its result holds (`value_size`) beyond its largest argument and
  beyond what it read itself are produced. So resample_spatial to a finer resolution
  counts its new pixels, apply_dimension and aggregate_temporal their new labels,
  merge_cubes the cube it adds to the larger one, vector_to_regular_points its points,
  array_create its copies, whatever process it is the next to grow a cube.

Child processes are metered inside the process calling them, which then counts the
larger of what they produced and what it produced itself: a child's values mostly become
its parent's (apply_dimension), or are held only inside it (a reducer of ten copies).

Processes build lazy cubes, so the count is complete before save_result computes: beyond
a limit the execution is refused at once, before any pixel is read, with
ProcessGraphComplexity (the tenant's quota, `Limits.max_pixels`) or PaymentRequired (what
a batch job's budget pays for, `Limits.paid_pixels`). The few processes that compute
while the graph is evaluated (trim_cube, run_udf's first chunk) read only pixels counted
before them; those that make their values at once (vector_to_regular_points,
vector_buffer) check what they plan first (`check_planned`). Processes that dask calls
while it computes (apply_neighborhood's child on each window, from dask's threads) are not
metered: the window tried while the graph was evaluated was.
"""

import functools
import math
import threading
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import shapely
import xarray as xr

from eoplex_common.errors import PaymentRequired, ProcessGraphComplexity
from eoplex_executor.engine.cube import DimensionArray, RasterCube, VectorCube
from eoplex_executor.engine.environment import Environment

ProcessFunction = Callable[..., Any]


def count_read(env: Environment, pixels: int) -> None:
    """Count `pixels` a process is about to read. Raises ProcessGraphComplexity or
    PaymentRequired when the execution's count goes beyond its limits."""
    env.pixels += pixels
    check_limits(env)


def check_planned(env: Environment, pixels: float) -> None:
    """Before a process makes `pixels` more values than it was given, at once (not lazily,
    e.g. vector geometries): ProcessGraphComplexity or PaymentRequired when they would take
    the execution beyond its limits. They are counted once made, by `metered`."""
    check_limits(env, planned=int(min(pixels, 2**62)))


def check_limits(env: Environment, *, planned: int = 0) -> None:
    """ProcessGraphComplexity beyond `Limits.max_pixels`, PaymentRequired beyond
    `Limits.paid_pixels`, counting what the processes still running produced so far and
    the `planned` values a process is about to make."""
    count = env.pixels + env.produced.pixels + sum(env.produced.open_calls) + planned
    limits = env.limits
    if limits.max_pixels and count > limits.max_pixels:
        if limits.single_file:
            raise ProcessGraphComplexity(
                f"The request would read and produce {count:,} pixels, more than the "
                f"{limits.max_pixels:,} allowed for synchronous processing. Reduce the "
                "spatial or temporal extent, the bands or the resolution, or run it as a "
                "batch job."
            )
        raise ProcessGraphComplexity(
            f"The job would read and produce {count:,} pixels, more than the "
            f"{limits.max_pixels:,} one batch job of its tenant may. Reduce the spatial or "
            "temporal extent, the bands or the resolution, or split it into several jobs."
        )
    if limits.paid_pixels and count > limits.paid_pixels:
        raise PaymentRequired(
            f"The job would read and produce {count:,} pixels, more than the "
            f"{limits.paid_pixels:,} its budget pays for. Raise the job's budget, or reduce "
            "the spatial or temporal extent, the bands or the resolution."
        )


def metered(function: ProcessFunction, *, takes_env: bool) -> ProcessFunction:
    """`function` (a process; `takes_env` if it takes the environment itself) called with
    the environment as `env`, counting what it produces (see the module). The evaluator
    always passes `env`; called without one (a test calling a process as a function),
    there is no execution to count for."""

    @functools.wraps(function)
    def call(**arguments: Any) -> Any:
        env: Environment | None = arguments.get("env") if takes_env else arguments.pop("env", None)
        if env is None:
            return function(**arguments)
        production = env.produced
        evaluating = production.thread or threading.get_ident()
        if evaluating != threading.get_ident():
            return function(**arguments)
        production.thread = evaluating
        read_before = env.pixels
        production.open_calls.append(0)
        try:
            result = function(**arguments)
        finally:
            by_children = production.open_calls.pop()
        given = max(
            (value_size(value) for name, value in arguments.items() if name != "env"), default=0
        )
        own = value_size(result) - given - (env.pixels - read_before)
        produced = max(by_children, own, 0)
        if production.open_calls:
            production.open_calls[-1] += produced
        else:
            production.pixels += produced
        if produced:
            check_limits(env)
        return result

    return call


def value_size(value: Any) -> int:
    """The values `value` holds: a raster cube's pixels, the values of a DimensionArray or
    an array, a vector cube's coordinates and values, the elements of JSON arrays and
    objects (one each), nothing for a child process or null. Iterative, so that no nesting
    is too deep for it."""
    total = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, RasterCube):
            total += _elements(item.data)
        elif isinstance(item, DimensionArray):
            total += _elements(item.data)
        elif isinstance(item, xr.DataArray | np.ndarray):
            total += _elements(item)
        elif isinstance(item, VectorCube):
            total += vector_coordinates(item)
            pending.append(item.values)
        elif isinstance(item, list | tuple):
            pending.extend(item)
        elif isinstance(item, Mapping):
            pending.extend(item.values())
        elif item is not None and not callable(item):
            total += 1
    return total


def _elements(array: Any) -> int:
    """The elements of an array; 0 for a lazy one whose shape only computing tells."""
    size = math.prod(array.shape)
    return int(size) if isinstance(size, int) or math.isfinite(size) else 0


def vector_coordinates(cube: VectorCube) -> int:
    """The coordinates of a vector cube's geometries (a point has one)."""
    geometries = np.asarray(cube.geometries, dtype=object)
    return int(shapely.get_num_coordinates(geometries).sum()) if len(geometries) else 0
