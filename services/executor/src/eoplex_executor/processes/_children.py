"""Child processes on cube values: how their inputs are built and their results shaped.

A child process (`reducer`, `process`, `overlap_resolver`, ...) is a Python callable taking
keyword arguments. Along a dimension it sees a `DimensionArray`; a list that holds cube
values next to numbers (`[mean(data), 0]`) becomes one along `LIST_DIMENSION`. What it
returns is brought back into the cube's shape by `conform`.
"""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.cube import DimensionArray, RasterCube

ChildProcess = Callable[..., Any]

# The dimension of a list of cube values stacked into a DimensionArray.
LIST_DIMENSION = "elements"


def as_dimension_array(data: Any) -> DimensionArray | None:
    """`data` as a DimensionArray when it holds cube values, else None."""
    if isinstance(data, DimensionArray):
        return data
    if isinstance(data, list | tuple) and any(
        isinstance(item, xr.DataArray | DimensionArray) for item in data
    ):
        return _stacked(data)
    return None


def _stacked(items: Sequence[Any]) -> DimensionArray:
    """A list of cube values and numbers as one DimensionArray along `LIST_DIMENSION`."""
    arrays = [
        item.data
        if isinstance(item, DimensionArray)
        else item
        if isinstance(item, xr.DataArray)
        else xr.DataArray(np.nan if item is None else item)
        for item in items
    ]
    stacked = xr.concat(
        xr.broadcast(*arrays), dim=LIST_DIMENSION, join="outer", coords="minimal", compat="override"
    )
    return DimensionArray(stacked, LIST_DIMENSION)


def conform(
    result: Any,
    template: xr.DataArray,
    process_id: str,
    parameter: str,
    *,
    along: str | None = None,
) -> xr.DataArray:
    """A child process's `result` shaped like `template`: scalars broadcast, dimensions in
    template order. Only `along` (a dimension whose length may change) may be added."""
    if isinstance(result, DimensionArray):
        result = result.data
    if isinstance(result, xr.DataArray):
        extra = set(result.dims) - set(template.dims) - {along}
        if extra:
            raise ProcessParameterInvalid(
                process=process_id,
                parameter=parameter,
                reason="the child process returned values along "
                f"{', '.join(sorted(map(str, extra)))}, which its result cannot hold",
            )
        # Scalar coordinates left over from picking one label (array_element) would clash
        # with the labels the result gets.
        result = result.drop_vars(
            [name for name, coord in result.coords.items() if coord.ndim == 0]
        )
        return result.broadcast_like(template).transpose(*template.dims, ...)
    if result is None:
        result = np.nan
    if isinstance(result, bool | int | float | np.generic):
        return xr.full_like(template, result, dtype=np.asarray(result).dtype)
    raise ProcessParameterInvalid(
        process=process_id,
        parameter=parameter,
        reason=f"the child process returned {type(result).__name__}, not a value per pixel",
    )


def without_dimension(cube: RasterCube, dimension: str) -> xr.DataArray:
    """The cube's data with `dimension` removed (its first label), as a shape template."""
    return cube.data.isel({dimension: 0}, drop=True)


def aggregate(
    cube: RasterCube,
    dimension: str,
    groups: list[np.ndarray],
    labels: np.ndarray,
    reducer: ChildProcess,
    context: Any,
    process_id: str,
) -> RasterCube:
    """One reducer call per group of label positions, concatenated along `dimension`; a
    group without positions is no-data."""
    template = without_dimension(cube, dimension)
    reduced: list[xr.DataArray | None] = []
    for positions in groups:
        if len(positions) == 0:
            reduced.append(None)  # reducers fail or warn on empty arrays: filled below
            continue
        subset = DimensionArray(cube.data.isel({dimension: positions}), dimension)
        values = reducer(data=subset, context=context)
        reduced.append(conform(values, template, process_id, "reducer"))
    dtypes = [part.dtype for part in reduced if part is not None] or [cube.data.dtype]
    no_data = xr.full_like(template, np.nan, dtype=np.result_type(*dtypes, np.float32))
    parts = [no_data if part is None else part for part in reduced]
    combined = xr.concat(parts, dim=dimension, join="exact", coords="minimal", compat="override")
    return cube.with_data(combined.assign_coords({dimension: labels}).transpose(*cube.dims))
