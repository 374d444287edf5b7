"""Processes that apply one rule element by element: to JSON values or to cube values.

Such a process has two rules, and `elementwise` picks one:

- a *scalar rule* for plain JSON values, following the process's spec exactly;
- an *array rule* (numpy, chunk by chunk) for `xarray.DataArray`s, numpy arrays and
  `DimensionArray`s, applied lazily through `xarray.apply_ufunc`, under
  `np.errstate(all="ignore")`: a division by zero is `inf`/NaN as IEEE 754 and the specs
  say, and must not surface as a warning when dask computes the cube much later.

`as_float` and `as_wide_integer` widen integer operands so that nothing wraps around.
"""

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.cube import DimensionArray

ARRAY_TYPES = (xr.DataArray, np.ndarray, DimensionArray)
Rule = Callable[..., Any]


def elementwise(process_id: str, scalar_rule: Rule, array_rule: Rule, **values: Any) -> Any:
    """`scalar_rule(*values)` for plain JSON values; otherwise `array_rule` on every chunk.

    A `DimensionArray` operand makes the result a `DimensionArray` along the same
    dimension (e.g. `subtract(data, mean(data))` in `apply_dimension`)."""
    if not any(isinstance(value, ARRAY_TYPES) for value in values.values()):
        return scalar_rule(*values.values())
    operands = [_array_operand(process_id, name, value) for name, value in values.items()]
    quiet = _quietly(array_rule)
    if any(isinstance(operand, xr.DataArray) for operand in operands):
        result = xr.apply_ufunc(quiet, *operands, dask="parallelized", join="inner")
    else:
        result = quiet(*operands)
    dimension = next((v.dimension for v in values.values() if isinstance(v, DimensionArray)), None)
    return result if dimension is None else DimensionArray(result, dimension)


def _quietly(rule: Rule) -> Rule:
    def run(*operands: Any) -> Any:
        with np.errstate(all="ignore"):
            return rule(*operands)

    return run


def _array_operand(process_id: str, name: str, value: Any) -> Any:
    """A value as an operand next to arrays: null is NaN, a DimensionArray its DataArray."""
    if isinstance(value, DimensionArray):
        return value.data
    if value is None:
        return np.nan
    if isinstance(value, list | dict):
        raise ProcessParameterInvalid(
            process=process_id,
            parameter=name,
            reason="an array or object cannot be combined element by element with cube values.",
        )
    return value


def dtype_kind(value: Any) -> str:
    """The numpy dtype kind of an operand ('f', 'i', 'u', 'b', 'U', ...)."""
    return np.asarray(value).dtype.kind


def as_float(value: Any) -> Any:
    """Boolean and integer arrays as float64, so results that are not integers are exact."""
    return (
        value.astype(np.float64)
        if isinstance(value, np.ndarray) and dtype_kind(value) in "biu"
        else value
    )


def as_wide_integer(value: Any) -> Any:
    """Boolean and integer arrays as int64 (uint64 as float64), so sums and differences of
    small or unsigned integers cannot wrap around."""
    if isinstance(value, np.ndarray) and dtype_kind(value) in "biu":
        return value.astype(np.promote_types(value.dtype, np.int64))
    return value


def float64_of(value: int | float) -> np.float64:
    """A JSON number as float64; an integer beyond the float range as +-infinity."""
    try:
        return np.float64(value)
    except OverflowError:
        return np.float64(math.inf if value > 0 else -math.inf)
