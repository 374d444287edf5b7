"""Argument checks and value tests that several processes share.

A check returns the value it checked, typed, or raises an error naming the process and the
parameter: the exception the process specifications declare for the case where they
declare one (`DimensionNotAvailable`, `TooManyDimensions`), else `ProcessParameterInvalid`.

Two number tests, for two kinds of argument:

- `is_number`: a JSON or numpy number, NaN and infinities included (the operands of
  arithmetic, comparisons and array processes, where NaN is a value like any other);
- `is_finite_number`: a JSON integer of any size or a finite float (sizes, distances,
  weights and options, where NaN or infinity is a mistake).
"""

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from eoplex_common.errors import DimensionNotAvailable, ProcessParameterInvalid, TooManyDimensions
from eoplex_executor.engine.cube import TEMPORAL, RasterCube


def require_cube(value: object, process_id: str, parameter: str = "data") -> RasterCube:
    """`value` as a raster data cube."""
    if not isinstance(value, RasterCube):
        raise ProcessParameterInvalid(
            process=process_id, parameter=parameter, reason="expected a raster data cube"
        )
    return value


def require_dimension(cube: RasterCube, dimension: str, process_id: str, parameter: str) -> str:
    """`dimension` as the name of one of the cube's dimensions (DimensionNotAvailable)."""
    if not isinstance(dimension, str) or dimension not in cube.dims:
        raise DimensionNotAvailable(
            process=process_id,
            parameter=parameter,
            reason=f"the cube has no dimension {dimension!r}; "
            f"its dimensions are {', '.join(cube.dims)}.",
        )
    return dimension


def require_temporal_dimension(cube: RasterCube, dimension: str | None, process_id: str) -> str:
    """The temporal dimension named `dimension`, or the cube's only one when it is None
    (DimensionNotAvailable, TooManyDimensions)."""
    if dimension is not None:
        require_dimension(cube, dimension, process_id, "dimension")
        if cube.dimension_types.get(dimension) != TEMPORAL:
            raise DimensionNotAvailable(
                process=process_id,
                parameter="dimension",
                reason=f"{dimension!r} is not a temporal dimension.",
            )
        return dimension
    temporal = cube.dimensions_of_type(TEMPORAL)
    if not temporal:
        raise DimensionNotAvailable(
            process=process_id, parameter="dimension", reason="the cube has no temporal dimension."
        )
    if len(temporal) > 1:
        raise TooManyDimensions(
            process=process_id,
            parameter="dimension",
            reason=f"the cube has temporal dimensions {', '.join(temporal)}; name one.",
        )
    return temporal[0]


def require_instants(cube: RasterCube, dimension: str, process_id: str) -> np.ndarray:
    """The labels of a temporal dimension, which must be instants: labels of an aggregated
    cube (`2022-06`) are refused."""
    values = cube.data.coords[dimension].values
    if not np.issubdtype(values.dtype, np.datetime64):
        raise ProcessParameterInvalid(
            process=process_id,
            parameter="data",
            reason=f"the labels of {dimension!r} are not instants (aggregated already?)",
        )
    return values


def require_name(value: object, process_id: str, parameter: str) -> str:
    """A name of a new dimension or band: a string."""
    if not isinstance(value, str):
        raise ProcessParameterInvalid(
            process=process_id, parameter=parameter, reason=f"expected a name, not {value!r:.80}"
        )
    return value


def require_or_null(
    process_id: str, name: str, value: Any, check: Callable[[Any], bool], kind: str
) -> None:
    """`value` passes `check` or is null; `kind` says what `check` accepts ("a number")."""
    if value is not None and not check(value):
        raise ProcessParameterInvalid(
            process=process_id,
            parameter=name,
            reason=f"expected {kind} or null, got {type(value).__name__}.",
        )


def require_sequence(process_id: str, data: Any) -> list[Any]:
    """The `data` of a reducer or array process as a list: a JSON array or a 1-D numpy array."""
    if isinstance(data, list | tuple):
        return list(data)
    if isinstance(data, np.ndarray) and data.ndim == 1:
        return list(data.tolist())
    reason = "expected an array."
    if isinstance(data, xr.DataArray):
        reason = "cube values reach reducers as the `data` of reduce_dimension or apply_dimension."
    raise ProcessParameterInvalid(process=process_id, parameter="data", reason=reason)


def require_numbers(process_id: str, items: list[Any]) -> np.ndarray:
    """The items as float64, null as NaN; ProcessParameterInvalid for anything but numbers."""
    for item in items:
        if item is not None and (isinstance(item, bool) or not isinstance(item, int | float)):
            raise ProcessParameterInvalid(
                process=process_id,
                parameter="data",
                reason=f"expected numbers or null, got {type(item).__name__}.",
            )
    return np.array([np.nan if item is None else item for item in items], dtype=np.float64)


def is_number(value: Any) -> bool:
    """A JSON or numpy number, NaN and infinities included; a boolean is not a number."""
    return isinstance(value, int | float | np.number) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    """A JSON integer (of any size: it may exceed every float) or a finite float."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


def is_nodata(item: Any) -> bool:
    """Whether an element of a JSON array is no-data: null or NaN."""
    return item is None or (isinstance(item, float) and np.isnan(item))
