"""Reducers and array processes: on plain arrays and on DimensionArrays in child processes.

Every numeric reducer is one *kernel*: a numpy function over the last axis of a float
array, NaN as no-data, that never warns. A plain JSON array (null as NaN) runs through
it as one 1-D array; a `DimensionArray` (the `data` of `reduce_dimension` or
`apply_dimension`) runs through it lazily, chunk by chunk, along its dimension. The
kernels avoid numpy's `nanmean`/`nanmedian`/... on purpose: those warn on all-NaN
pixels (a fully clouded time series) when dask computes the cube, long after the
process returned, in threads where warning filters cannot be changed safely.

A list whose elements are cube values (e.g. `mean([array_element(data, 0), x])`) is
stacked into a `DimensionArray` first. Processes whose result is an array
(`quantiles`, `extrema`) return a `DimensionArray` along the same dimension, labelled
0, 1, ... as `apply_dimension` labels a dimension whose number of values changed.
"""

from collections.abc import Callable
from functools import partial
from typing import Any, NoReturn

import dask.array
import numpy as np
import xarray as xr

from eoplex_common.errors import (
    ArrayElementNotAvailable,
    ArrayElementParameterConflict,
    ArrayElementParameterMissing,
    ArrayNotLabeled,
    AscendingProbabilitiesRequired,
    ProcessParameterInvalid,
    QuantilesParameterConflict,
    QuantilesParameterMissing,
)
from eoplex_executor.engine.cube import MAX_ARRAY_LENGTH, DimensionArray
from eoplex_executor.engine.registry import process
from eoplex_executor.processes._checks import is_nodata, require_numbers, require_sequence
from eoplex_executor.processes._children import as_dimension_array
from eoplex_executor.processes._labels import label_position
from eoplex_executor.processes.arithmetic import is_valid

# values [..., n], ignore_nodata -> [...] (a value per pixel) or [..., k] (an array per pixel)
Kernel = Callable[[np.ndarray, bool], np.ndarray]

# Kernels.


def _valid_count(values: np.ndarray) -> np.ndarray:
    return np.count_nonzero(~np.isnan(values), axis=-1)


def _masked(values: np.ndarray, ignore_nodata: bool, result: np.ndarray) -> np.ndarray:
    """NaN where a pixel has only no-data, or any no-data when it is not ignored (spec)."""
    nodata = np.isnan(values)
    missing = nodata.all(axis=-1)
    if not ignore_nodata:
        missing |= nodata.any(axis=-1)
    return np.where(
        missing.reshape(missing.shape + (1,) * (result.ndim - missing.ndim)), np.nan, result
    )


def _sum(values: np.ndarray, ignore_nodata: bool) -> np.ndarray:
    return _masked(values, ignore_nodata, np.nansum(values, axis=-1))


def _product(values: np.ndarray, ignore_nodata: bool) -> np.ndarray:
    return _masked(values, ignore_nodata, np.nanprod(values, axis=-1))


def _mean(values: np.ndarray, ignore_nodata: bool) -> np.ndarray:
    return _masked(values, ignore_nodata, np.nansum(values, axis=-1) / _valid_count(values))


def _min(values: np.ndarray, ignore_nodata: bool) -> np.ndarray:
    # fmin skips NaN without numpy's all-NaN warning; `initial` allows empty input.
    return _masked(values, ignore_nodata, np.fmin.reduce(values, axis=-1, initial=np.inf))


def _max(values: np.ndarray, ignore_nodata: bool) -> np.ndarray:
    return _masked(values, ignore_nodata, np.fmax.reduce(values, axis=-1, initial=-np.inf))


def _variance(values: np.ndarray, ignore_nodata: bool) -> np.ndarray:
    """The sample variance (n - 1); NaN (no-data) for fewer than two values."""
    count = _valid_count(values)
    deviations = values - (np.nansum(values, axis=-1) / count)[..., np.newaxis]
    return _masked(values, ignore_nodata, np.nansum(deviations**2, axis=-1) / (count - 1))


def _sd(values: np.ndarray, ignore_nodata: bool) -> np.ndarray:
    return np.sqrt(_variance(values, ignore_nodata))


def _quantiles(probabilities: np.ndarray, values: np.ndarray, ignore_nodata: bool) -> np.ndarray:
    """Type-7 sample quantiles (Hyndman and Fan, as the spec asks). NaN sorts last, so the
    valid values of a pixel are the first `count` of its sorted values."""
    ordered = np.sort(values, axis=-1)
    count = _valid_count(values)[..., np.newaxis]
    position = (count - 1) * probabilities
    lower = np.clip(np.floor(position), 0, None).astype(np.intp)
    upper = np.minimum(lower + 1, np.maximum(count - 1, 0))
    low = np.take_along_axis(ordered, lower, axis=-1)
    high = np.take_along_axis(ordered, upper, axis=-1)
    return _masked(values, ignore_nodata, low + (position - lower) * (high - low))


def _median(values: np.ndarray, ignore_nodata: bool) -> np.ndarray:
    return _quantiles(np.array([0.5]), values, ignore_nodata)[..., 0]


def _extrema(values: np.ndarray, ignore_nodata: bool) -> np.ndarray:
    return np.stack([_min(values, ignore_nodata), _max(values, ignore_nodata)], axis=-1)


def _first(values: np.ndarray, ignore_nodata: bool) -> np.ndarray:
    if not ignore_nodata:
        return values[..., 0]
    # The first valid value; where there is none, position 0 holds NaN already.
    position = np.argmax(~np.isnan(values), axis=-1)
    return np.take_along_axis(values, position[..., np.newaxis], axis=-1)[..., 0]


def _last(values: np.ndarray, ignore_nodata: bool) -> np.ndarray:
    return _first(values[..., ::-1], ignore_nodata)


# Running a kernel on the three kinds of `data`.


def _reduce(
    process_id: str,
    data: Any,
    kernel: Kernel,
    ignore_nodata: bool,
    *,
    size: int | None = None,
    integral: bool = False,
) -> Any:
    """`kernel` on `data`: a value (or `size` values) per pixel of a DimensionArray, or a
    JSON number (or list) for a plain array; ints stay ints where `integral` says so."""
    dimension_array = as_dimension_array(data)
    if dimension_array is not None:
        return _reduce_dimension_array(dimension_array, kernel, ignore_nodata, size)
    items = require_sequence(process_id, data)
    numbers = require_numbers(process_id, items)
    with np.errstate(all="ignore"):
        # An empty array reduces like [null]: to null, or to a list of nulls (spec).
        result = kernel(numbers if numbers.size else np.array([np.nan]), ignore_nodata)
    keep_int = integral and all(isinstance(item, int | None) for item in items)
    if result.ndim == 0:
        return _json_number(result.item(), keep_int)
    return [_json_number(value, keep_int) for value in result.tolist()]


def _reduce_dimension_array(
    data: DimensionArray, kernel: Kernel, ignore_nodata: bool, size: int | None
) -> Any:
    values = data.data if data.data.dtype.kind == "f" else data.data.astype(np.float64)
    dimension, dtype = data.dimension, values.dtype
    if size is None and kernel in TREE_REDUCIBLE and _chunked_along(values, dimension):
        return values.reduce(partial(_tree_reduction, kernel, ignore_nodata), dim=dimension)

    def run(chunk: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return kernel(chunk, ignore_nodata).astype(dtype, copy=False)

    output_dims = [[dimension]] if size is not None else [[]]
    result = xr.apply_ufunc(
        run,
        values,
        input_core_dims=[[dimension]],
        output_core_dims=output_dims,
        exclude_dims={dimension},
        dask="parallelized",
        output_dtypes=[dtype],
        dask_gufunc_kwargs={
            "allow_rechunk": True,
            "output_sizes": {dimension: size} if size is not None else {},
        },
    )
    if size is None:
        return result
    labelled = result.assign_coords({dimension: np.arange(size)}).transpose(*values.dims)
    return DimensionArray(labelled, dimension)


# Kernels that combine partial results, so a dimension split into chunks (e.g. one per
# date) is reduced chunk by chunk, in a tree, and memory does not grow with its length.
TREE_REDUCIBLE = (_max, _min, _sum, _mean)


def _chunked_along(values: xr.DataArray, dimension: str) -> bool:
    chunks = values.chunks
    return chunks is not None and len(chunks[values.get_axis_num(dimension)]) > 1


def _tree_reduction(
    kernel: Kernel, ignore_nodata: bool, values: dask.array.Array, axis: int
) -> dask.array.Array:
    """max, min, sum or mean of a dask array along `axis`, with the kernels' no-data rules."""
    valid = (~dask.array.isnan(values)).sum(axis=axis)
    if kernel in (_max, _min):
        # fmax/fmin skip NaN (and give NaN for only NaN) without warnings; maximum/minimum
        # propagate it, which is the rule when no-data is not ignored.
        skip, keep = (np.fmax, np.maximum) if kernel is _max else (np.fmin, np.minimum)
        combine = partial(_ufunc_reduce, skip if ignore_nodata else keep)
        return dask.array.reduction(
            values, chunk=combine, aggregate=combine, axis=axis, dtype=values.dtype
        )
    total = dask.array.nansum(values, axis=axis) if ignore_nodata else values.sum(axis=axis)
    if kernel is _mean:
        total = total / dask.array.maximum(valid, 1)
    return dask.array.where(valid > 0, total, np.nan).astype(values.dtype)


def _ufunc_reduce(
    ufunc: np.ufunc, values: np.ndarray, axis: Any = None, keepdims: bool = False
) -> np.ndarray:
    result: np.ndarray = ufunc.reduce(values, axis=axis, keepdims=keepdims)
    return result


def _json_number(value: float, keep_int: bool) -> int | float | None:
    if np.isnan(value):
        return None
    return int(value) if keep_int and value.is_integer() else value


# Processes.


@process()
def mean(data: Any, ignore_nodata: bool = True) -> Any:
    """openEO `mean`: the arithmetic mean; null when no (or, not ignoring, any) no-data."""
    return _reduce("mean", data, _mean, ignore_nodata)


@process()
def median(data: Any, ignore_nodata: bool = True) -> Any:
    """openEO `median`: the 0.5 quantile."""
    return _reduce("median", data, _median, ignore_nodata)


@process()
def min_(data: Any, ignore_nodata: bool = True) -> Any:
    """openEO `min`: the smallest value; null for an empty array."""
    return _reduce("min", data, _min, ignore_nodata, integral=True)


@process()
def max_(data: Any, ignore_nodata: bool = True) -> Any:
    """openEO `max`: the largest value; null for an empty array."""
    return _reduce("max", data, _max, ignore_nodata, integral=True)


@process()
def sum_(data: Any, ignore_nodata: bool = True) -> Any:
    """openEO `sum`: the sum; null for an empty array or one of only no-data."""
    return _reduce("sum", data, _sum, ignore_nodata, integral=True)


@process()
def product(data: Any, ignore_nodata: bool = True) -> Any:
    """openEO `product`: the product; null for an empty array or one of only no-data."""
    return _reduce("product", data, _product, ignore_nodata, integral=True)


@process()
def variance(data: Any, ignore_nodata: bool = True) -> Any:
    """openEO `variance`: the sample variance; null for fewer than two values."""
    return _reduce("variance", data, _variance, ignore_nodata)


@process()
def sd(data: Any, ignore_nodata: bool = True) -> Any:
    """openEO `sd`: the sample standard deviation; null for fewer than two values."""
    return _reduce("sd", data, _sd, ignore_nodata)


@process()
def extrema(data: Any, ignore_nodata: bool = True) -> Any:
    """openEO `extrema`: [min, max]; on a DimensionArray, a DimensionArray of two labels."""
    return _reduce("extrema", data, _extrema, ignore_nodata, size=2)


@process()
def quantiles(
    data: Any, probabilities: Any = None, q: Any = None, ignore_nodata: bool = True
) -> Any:
    """openEO `quantiles` (type 7). Raises the spec's QuantilesParameterMissing,
    QuantilesParameterConflict and AscendingProbabilitiesRequired, and ProcessParameterInvalid
    for other invalid probabilities."""
    cuts = _probabilities(probabilities, q)
    kernel = partial(_quantiles, cuts)
    return _reduce("quantiles", data, kernel, ignore_nodata, size=len(cuts))


def _probabilities(probabilities: Any, q: Any) -> np.ndarray:
    if probabilities is None and q is None:
        raise QuantilesParameterMissing(process="quantiles", parameter="probabilities")
    if probabilities is not None and q is not None:
        raise QuantilesParameterConflict(process="quantiles", parameter="q")
    wanted = probabilities if probabilities is not None else q
    name = "probabilities" if probabilities is not None else "q"
    if isinstance(wanted, int) and not isinstance(wanted, bool):
        if wanted < 2:
            _invalid_quantiles(name, "the number of intervals must be at least 2.")
        if wanted > MAX_ARRAY_LENGTH:
            _invalid_quantiles(name, f"at most {MAX_ARRAY_LENGTH} intervals.")
        return np.arange(1, wanted) / wanted
    if not isinstance(wanted, list) or not all(
        isinstance(p, int | float) and not isinstance(p, bool) and 0 <= p <= 1 for p in wanted
    ):
        _invalid_quantiles(name, "expected probabilities between 0 and 1, or an integer.")
    cuts = np.array(wanted, dtype=np.float64)
    if np.any(np.diff(cuts) <= 0):
        raise AscendingProbabilitiesRequired(
            process="quantiles", parameter=name, reason=f"they are {wanted}."
        )
    return cuts


def _invalid_quantiles(parameter: str, reason: str) -> NoReturn:
    raise ProcessParameterInvalid(process="quantiles", parameter=parameter, reason=reason)


@process()
def first(data: Any, ignore_nodata: bool = True) -> Any:
    """openEO `first`: the first (valid, with `ignore_nodata`) element; null if none."""
    return _pick("first", data, ignore_nodata, _first, from_end=False)


@process()
def last(data: Any, ignore_nodata: bool = True) -> Any:
    """openEO `last`: the last (valid, with `ignore_nodata`) element; null if none."""
    return _pick("last", data, ignore_nodata, _last, from_end=True)


def _pick(
    process_id: str, data: Any, ignore_nodata: bool, kernel: Kernel, *, from_end: bool
) -> Any:
    """first/last: elements of any type in JSON; along a dimension, a kernel on floats."""
    dimension_array = as_dimension_array(data)
    if dimension_array is not None:
        values, dimension = dimension_array.data, dimension_array.dimension
        if values.dtype.kind != "f":
            # Without NaN there is no no-data: the first or last label it is.
            return values.isel({dimension: -1 if from_end else 0}, drop=True)
        return _reduce_dimension_array(dimension_array, kernel, ignore_nodata, None)
    items = require_sequence(process_id, data)
    if from_end:
        items.reverse()
    if not ignore_nodata:
        return items[0] if items else None
    return next((item for item in items if not is_nodata(item)), None)


@process()
def count(data: Any, condition: Any = None, context: Any = None) -> Any:
    """openEO `count`: the number of valid elements (`condition` null), of all (`true`), or of
    those for which the `condition` child process returns true."""
    if not (condition is None or condition is True or callable(condition)):
        raise ProcessParameterInvalid(
            process="count",
            parameter="condition",
            reason="expected a child process, true (count all) or null (count valid elements).",
        )
    dimension_array = as_dimension_array(data)
    if dimension_array is not None:
        return _count_along(dimension_array, condition, context)
    items = require_sequence("count", data)
    if condition is None:
        return len([item for item in items if is_valid(item)])
    if condition is True:
        return len(items)
    return len([item for item in items if condition(x=item, context=context) is True])


def _count_along(data: DimensionArray, condition: Any, context: Any) -> xr.DataArray:
    values = data.data
    if condition is None:
        matches = is_valid(values)
    elif condition is True:
        matches = xr.ones_like(values, dtype=bool)
    else:
        matches = condition(x=values, context=context)
        if isinstance(matches, DimensionArray):
            matches = matches.data
        if not isinstance(matches, xr.DataArray):
            matches = xr.full_like(values, matches is True, dtype=bool)
        elif matches.dtype.kind != "b":
            # A condition answering numbers or no-data counts only where it is true.
            matches = (matches != 0) & matches.notnull()
    return matches.sum(dim=data.dimension)


@process()
def array_element(
    data: Any, index: Any = None, label: Any = None, return_nodata: bool = False
) -> Any:
    """openEO `array_element`: the element at `index` or with `label`. Raises the spec's
    ArrayElementParameterMissing/-Conflict, ArrayNotLabeled (a plain array has no labels) and
    ArrayElementNotAvailable (unless `return_nodata`, which gives null or, along a dimension,
    all-NaN values)."""
    if index is None and label is None:
        raise ArrayElementParameterMissing(process="array_element", parameter="index")
    if index is not None and label is not None:
        raise ArrayElementParameterConflict(process="array_element", parameter="label")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
        _invalid_element("index", "expected an integer of at least 0.")
    if isinstance(data, DimensionArray):
        return _element_along(data, index, label, return_nodata)
    items = require_sequence("array_element", data)
    if label is not None:
        raise ArrayNotLabeled(
            process="array_element",
            parameter="label",
            reason=f"the label is {label!r}; give the `index` instead.",
        )
    if index is not None and index < len(items):
        return items[index]
    return None if return_nodata else _element_not_available("index")


def _element_along(data: DimensionArray, index: int | None, label: Any, return_nodata: bool) -> Any:
    values, dimension = data.data, data.dimension
    position = index if index is not None else label_position(data, label)
    if position is not None and position < values.sizes[dimension]:
        return values.isel({dimension: position}, drop=True)
    if not return_nodata:
        _element_not_available("index" if index is not None else "label")
    dtype = values.dtype if values.dtype.kind == "f" else np.float64
    return xr.full_like(values.isel({dimension: 0}, drop=True), np.nan, dtype=dtype)


def _element_not_available(parameter: str) -> NoReturn:
    raise ArrayElementNotAvailable(process="array_element", parameter=parameter)


def _invalid_element(parameter: str, reason: str) -> NoReturn:
    raise ProcessParameterInvalid(process="array_element", parameter=parameter, reason=reason)
