"""The logical reducers `all` and `any`: on JSON arrays and along a dimension of a cube.

On a JSON array they follow the spec's truth tables exactly (null is no-data). Along a
dimension (the `data` of `reduce_dimension`, or a list of cube values) they reduce lazily
to a boolean per pixel. There a value is true when it is `true`, or a number neither zero
nor NaN; NaN is no-data. Boolean rasters cannot hold null (see `eoplex_executor.engine.cube`), so
a pixel whose spec outcome is null (`ignore_nodata` false and no-data deciding) is false.
"""

from collections.abc import Callable
from typing import Any

import xarray as xr

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.cube import DimensionArray
from eoplex_executor.engine.registry import process
from eoplex_executor.processes._checks import require_sequence
from eoplex_executor.processes._children import as_dimension_array

# (truth, valid) per value -> the reduction along `dimension`
AlongRule = Callable[[xr.DataArray, xr.DataArray, str, bool], xr.DataArray]


def _reduce_logic(
    process_id: str,
    data: Any,
    ignore_nodata: Any,
    scalar_rule: Callable[[list[bool | None], bool], bool | None],
    along_rule: AlongRule,
) -> Any:
    if not isinstance(ignore_nodata, bool):
        raise ProcessParameterInvalid(
            process=process_id, parameter="ignore_nodata", reason="expected a boolean."
        )
    dimension_array = as_dimension_array(data)
    if dimension_array is not None:
        truth, valid = _truth_and_validity(process_id, dimension_array)
        return along_rule(truth, valid, dimension_array.dimension, ignore_nodata)
    items = require_sequence(process_id, data)
    for item in items:
        if item is not None and not isinstance(item, bool):
            raise ProcessParameterInvalid(
                process=process_id,
                parameter="data",
                reason=f"expected booleans or null, got {type(item).__name__}.",
            )
    return scalar_rule(items, ignore_nodata)


def _truth_and_validity(process_id: str, data: DimensionArray) -> tuple[xr.DataArray, xr.DataArray]:
    """Whether each value is true, and whether it is data at all (not NaN), lazily."""
    values = data.data
    if values.dtype.kind == "b":
        return values, xr.ones_like(values, dtype=bool)
    if values.dtype.kind not in "iuf":
        raise ProcessParameterInvalid(
            process=process_id,
            parameter="data",
            reason=f"logical reducers need boolean or numeric values, not {values.dtype}.",
        )
    valid = values.notnull()
    return (values != 0) & valid, valid


def _all_scalar(items: list[bool | None], ignore_nodata: bool) -> bool | None:
    if False in items:
        return False
    return None if not ignore_nodata and None in items else True


def _all_along(truth: xr.DataArray, valid: xr.DataArray, dimension: str, ignore: bool) -> Any:
    if ignore:
        return (truth | ~valid).all(dim=dimension)
    return truth.all(dim=dimension)  # no-data (whose outcome would be null) is not true


def _any_scalar(items: list[bool | None], ignore_nodata: bool) -> bool | None:
    if True in items:
        return True
    return None if not ignore_nodata and None in items else False


def _any_along(truth: xr.DataArray, valid: xr.DataArray, dimension: str, ignore: bool) -> Any:
    # Not ignoring no-data changes only false outcomes into null, which a raster holds as false.
    return truth.any(dim=dimension)


@process()
def all_(data: Any, ignore_nodata: Any = True) -> Any:
    """openEO `all`: whether every value is true (true for an empty array); with
    `ignore_nodata` false a null makes the result null unless a value is false.
    Raises ProcessParameterInvalid for values that are not booleans or null."""
    return _reduce_logic("all", data, ignore_nodata, _all_scalar, _all_along)


@process()
def any_(data: Any, ignore_nodata: Any = True) -> Any:
    """openEO `any`: whether a value is true (false for an empty array); with
    `ignore_nodata` false a null makes the result null unless a value is true.
    Raises ProcessParameterInvalid for values that are not booleans or null."""
    return _reduce_logic("any", data, ignore_nodata, _any_scalar, _any_along)
