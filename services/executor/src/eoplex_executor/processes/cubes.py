"""Processes that reshape or combine raster data cubes (reduce, apply, merge, mask, rename...).

Every process here stays lazy: child processes receive dask-backed arrays and their
results are assembled with xarray operations, so nothing is computed before
`save_result`. Errors the process specifications declare (`DimensionNotAvailable`,
`OverlapResolverMissing`, ...) are raised as themselves, the others as
`ProcessParameterInvalid`.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import xarray as xr

from eoplex_common.errors import (
    BandExists,
    DimensionAmbiguous,
    DimensionExists,
    DimensionLabelCountMismatch,
    DistinctDimensionLabelsRequired,
    IncompatibleDataCubes,
    LabelExists,
    LabelMismatch,
    LabelNotAvailable,
    LabelsNotEnumerated,
    NirBandAmbiguous,
    OverlapResolverMissing,
    ProcessParameterInvalid,
    RedBandAmbiguous,
    TemporalExtentEmpty,
)
from eoplex_executor.engine.cube import (
    BANDS,
    DIMENSION_ORDER,
    OTHER,
    SPATIAL,
    TEMPORAL,
    DimensionArray,
    RasterCube,
    parse_datetime,
    replaced_where,
)
from eoplex_executor.engine.registry import process
from eoplex_executor.geo.bands import resolve_band
from eoplex_executor.processes._checks import (
    require_cube,
    require_dimension,
    require_instants,
    require_name,
    require_temporal_dimension,
)
from eoplex_executor.processes._children import (
    LIST_DIMENSION,
    ChildProcess,
    aggregate,
    conform,
    without_dimension,
)
from eoplex_executor.processes._labels import label_array, same_coordinates
from eoplex_executor.processes._periods import PERIODS

DIMENSION_TYPES = (SPATIAL, TEMPORAL, BANDS, OTHER)


# --- labels ------------------------------------------------------------------------------


def _is_label(value: object) -> bool:
    """Whether a JSON value can be a dimension label: a number or a string."""
    return isinstance(value, int | float | str) and not isinstance(value, bool)


def _require_labels(value: object, process_id: str, parameter: str) -> Sequence[Any]:
    """An array of labels (numbers or strings)."""
    if not isinstance(value, list | tuple) or not all(_is_label(label) for label in value):
        raise ProcessParameterInvalid(
            process=process_id,
            parameter=parameter,
            reason=f"expected an array of labels (numbers or strings), not {value!r:.80}",
        )
    return value


# --- reduce, apply ------------------------------------------------------------------------


@process()
def reduce_dimension(
    data: RasterCube, reducer: ChildProcess, dimension: str, context: Any = None
) -> RasterCube:
    """openEO `reduce_dimension`: collapse `dimension` with `reducer`, which sees a
    DimensionArray and reduces it lazily (dask reduces chunk by chunk, so memory stays
    bounded). A scalar result is broadcast. Raises DimensionNotAvailable, and
    ProcessParameterInvalid for a reducer that does not reduce."""
    cube = require_cube(data, "reduce_dimension", "data")
    require_dimension(cube, dimension, "reduce_dimension", "dimension")
    reduced = reducer(data=DimensionArray(cube.data, dimension), context=context)
    return cube.with_data(
        conform(reduced, without_dimension(cube, dimension), "reduce_dimension", "reducer")
    )


@process()
def apply(data: RasterCube, process: ChildProcess, context: Any = None) -> RasterCube:
    """openEO `apply`: run `process` on every value (it sees the whole DataArray as `x`).
    Raises ProcessParameterInvalid if the result has dimensions the cube lacks."""
    cube = require_cube(data, "apply", "data")
    result = process(x=cube.data, context=context)
    return cube.with_data(conform(result, cube.data, "apply", "process"))


@process()
def apply_dimension(
    data: RasterCube,
    process: ChildProcess,
    dimension: str,
    target_dimension: str | None = None,
    context: Any = None,
) -> RasterCube:
    """openEO `apply_dimension`: run `process` on every pixel's values along `dimension`.

    Labels are kept when the number of values is unchanged and the target is the source;
    otherwise they become 0..n-1. A `target_dimension` replaces the source: an existing one
    (which must have one label) keeps its type, a new one is of type `other`. Raises
    DimensionNotAvailable, and ProcessParameterInvalid for a target dimension with more
    than one label.
    """
    cube = require_cube(data, "apply_dimension", "data")
    require_dimension(cube, dimension, "apply_dimension", "dimension")
    if target_dimension is not None:
        require_name(target_dimension, "apply_dimension", "target_dimension")
    result = process(data=DimensionArray(cube.data, dimension), context=context)
    if isinstance(result, DimensionArray) and result.dimension == LIST_DIMENSION:
        # An array built of per-pixel values, e.g. `array_create([min(data), max(data)])`:
        # its elements are the new values along the processed dimension.
        result = DimensionArray(result.data.rename({LIST_DIMENSION: dimension}), dimension)
    values = conform(
        result, without_dimension(cube, dimension), "apply_dimension", "process", along=dimension
    )
    if dimension not in values.dims:
        values = values.expand_dims(dimension)  # a reducer gives one value per pixel
    count = values.sizes[dimension]
    target = target_dimension or dimension
    if target == dimension:
        keep = count == cube.data.sizes[dimension]
        labels = cube.data.coords[dimension].values if keep else np.arange(count)
        return cube.with_data(values.assign_coords({dimension: labels}).transpose(*cube.dims))
    values = values.assign_coords({dimension: np.arange(count)})
    types = dict(cube.dimension_types)
    if target in cube.dims:
        if cube.data.sizes[target] != 1:
            raise ProcessParameterInvalid(
                process="apply_dimension",
                parameter="target_dimension",
                reason=f"the target dimension {target!r} has {cube.data.sizes[target]} labels; "
                "only a new dimension or one with a single label can take the values",
            )
        values = values.squeeze(target, drop=True).rename({dimension: target})
        order = [dim for dim in cube.dims if dim != dimension]
    else:
        values = values.rename({dimension: target})
        order = [target if dim == dimension else dim for dim in cube.dims]
        types[target] = OTHER
    return cube.with_data(values.transpose(*order), dimension_types=types)


# --- ndvi ---------------------------------------------------------------------------------


@process()
def ndvi(
    data: RasterCube, nir: str = "nir", red: str = "red", target_band: str | None = None
) -> RasterCube:
    """openEO `ndvi`: (nir - red) / (nir + red) in floating point, so unsigned integer bands
    cannot wrap around; no-data where nir + red is 0. Bands are found by label or by common
    name (`eoplex_executor.geo.bands`). Without `target_band` the bands dimension is dropped,
    with it the index is appended as a new band. Raises DimensionAmbiguous for a cube
    without exactly one bands dimension, BandExists for an existing `target_band`, and
    NirBandAmbiguous or RedBandAmbiguous for a `nir` or `red` that names no band (the
    reason lists the bands, as /validation's does)."""
    cube = require_cube(data, "ndvi", "data")
    bands = cube.dimensions_of_type(BANDS)
    if len(bands) != 1:
        raise DimensionAmbiguous(
            process="ndvi",
            parameter="data",
            reason=f"the cube has {len(bands)} dimensions of type bands",
        )
    dimension = bands[0]
    available = [str(label) for label in cube.labels(dimension)]
    nir_values = _float_band(cube, dimension, _ndvi_band(nir, available, "nir"))
    red_values = _float_band(cube, dimension, _ndvi_band(red, available, "red"))
    total = nir_values + red_values
    # Dividing by NaN instead of 0 gives no-data without numpy's division warnings.
    index = (nir_values - red_values) / total.where(total != 0)
    if target_band is None:
        return cube.with_data(index)
    if require_name(target_band, "ndvi", "target_band") in available:
        raise BandExists(
            process="ndvi",
            parameter="target_band",
            reason=f"the cube already has a band {target_band!r}",
        )
    appended = xr.concat(
        [cube.data, index.expand_dims({dimension: [target_band]})],
        dim=dimension,
        join="exact",
    )
    return cube.with_data(appended.transpose(*cube.dims))


def _ndvi_band(name: str, available: list[str], parameter: str) -> str:
    """The band `nir` or `red` names; NirBandAmbiguous or RedBandAmbiguous (with the reason
    of `resolve_band`) for a name that resolves to none."""
    try:
        return resolve_band(name, available, process="ndvi", parameter=parameter)
    except ProcessParameterInvalid as error:
        if not isinstance(name, str):
            raise
        ambiguous = NirBandAmbiguous if parameter == "nir" else RedBandAmbiguous
        raise ambiguous(
            process="ndvi", parameter=parameter, reason=str(error.params["reason"])
        ) from None


def _float_band(cube: RasterCube, dimension: str, label: str) -> xr.DataArray:
    values = cube.data.sel({dimension: label}, drop=True)
    return values.astype(np.result_type(values.dtype, np.float32))


# --- temporal aggregation -----------------------------------------------------------------


@process()
def aggregate_temporal(
    data: RasterCube,
    intervals: Sequence[Sequence[str | None]],
    reducer: ChildProcess,
    labels: Sequence[Any] = (),
    dimension: str | None = None,
    context: Any = None,
) -> RasterCube:
    """openEO `aggregate_temporal`: reduce the values of every left-closed interval.

    Labels are the interval starts (as instants) unless `labels` are given; an interval
    without values is no-data. Raises DimensionNotAvailable or TooManyDimensions for a
    missing or ambiguous temporal dimension, TemporalExtentEmpty for an empty interval,
    DistinctDimensionLabelsRequired for duplicate starts without `labels`, and
    ProcessParameterInvalid for time-of-day intervals (not supported) or a label count
    unlike the interval count.
    """
    cube = require_cube(data, "aggregate_temporal", "data")
    dim = require_temporal_dimension(cube, dimension, "aggregate_temporal")
    if not isinstance(intervals, list):
        raise ProcessParameterInvalid(
            process="aggregate_temporal",
            parameter="intervals",
            reason="expected an array of intervals, each an array of two dates",
        )
    bounds = [_interval(interval) for interval in intervals]
    times = require_instants(cube, dim, "aggregate_temporal")
    groups = [np.flatnonzero(_within(times, start, end)) for start, end in bounds]
    names = _interval_labels(bounds, labels)
    return aggregate(cube, dim, groups, names, reducer, context, "aggregate_temporal")


def _interval(interval: Sequence[str | None]) -> tuple[np.datetime64 | None, np.datetime64 | None]:
    if not isinstance(interval, list) or len(interval) != 2:
        raise ProcessParameterInvalid(
            process="aggregate_temporal",
            parameter="intervals",
            reason=f"an interval is an array of two dates or null, not {interval!r:.80}",
        )
    start, end = (_instant(bound) for bound in interval)
    if start is not None and end is not None and end <= start:
        raise TemporalExtentEmpty(
            process="aggregate_temporal",
            parameter="intervals",
            reason=f"the interval {list(interval)} is empty",
        )
    return start, end


def _instant(bound: str | None) -> np.datetime64 | None:
    if bound is None:
        return None
    if not isinstance(bound, str):
        raise ProcessParameterInvalid(
            process="aggregate_temporal",
            parameter="intervals",
            reason=f"an interval's bounds are dates or null, not {bound!r:.80}",
        )
    if len(bound) == 8 and bound[2] == ":":
        raise ProcessParameterInvalid(
            process="aggregate_temporal",
            parameter="intervals",
            reason=f"time-of-day intervals ({bound!r}) are not supported; give dates",
        )
    try:
        return parse_datetime(bound)
    except ValueError as error:
        raise ProcessParameterInvalid(
            process="aggregate_temporal",
            parameter="intervals",
            reason=f"{bound!r} is not an RFC 3339 date or date-time",
        ) from error


def _within(
    times: np.ndarray, start: np.datetime64 | None, end: np.datetime64 | None
) -> np.ndarray:
    inside = np.ones(times.shape, dtype=bool)
    if start is not None:
        inside &= times >= start
    if end is not None:
        inside &= times < end
    return inside


def _interval_labels(
    bounds: list[tuple[np.datetime64 | None, np.datetime64 | None]], labels: Sequence[Any]
) -> np.ndarray:
    if labels:
        _require_labels(labels, "aggregate_temporal", "labels")
        if len(labels) != len(bounds) or len(set(labels)) != len(labels):
            raise ProcessParameterInvalid(
                process="aggregate_temporal",
                parameter="labels",
                reason=f"{len(bounds)} distinct labels are needed, one per interval",
            )
        return label_array(labels)
    starts = [start for start, _ in bounds]
    if None in starts or len(set(starts)) != len(starts):
        raise DistinctDimensionLabelsRequired(
            process="aggregate_temporal",
            parameter="labels",
            reason="the interval starts are not distinct instants, so labels must be given",
        )
    return np.array(starts, dtype="datetime64[ns]")


@process()
def aggregate_temporal_period(
    data: RasterCube,
    period: str,
    reducer: ChildProcess,
    dimension: str | None = None,
    context: Any = None,
) -> RasterCube:
    """openEO `aggregate_temporal_period`: reduce the values of every calendar period.

    Labels follow the spec (`2022-06` for a month, `2022-16` for the 16th dekad, counted
    from 01) and cover every period from the first to the last label, periods without
    values being no-data. Raises ProcessParameterInvalid for an unknown period, and
    DimensionNotAvailable or TooManyDimensions for a missing or ambiguous temporal dimension.
    """
    cube = require_cube(data, "aggregate_temporal_period", "data")
    calendar = PERIODS.get(period) if isinstance(period, str) else None
    if calendar is None:
        raise ProcessParameterInvalid(
            process="aggregate_temporal_period",
            parameter="period",
            reason=f"unknown period {period!r}; one of {', '.join(PERIODS)}",
        )
    dim = require_temporal_dimension(cube, dimension, "aggregate_temporal_period")
    instants = (
        require_instants(cube, dim, "aggregate_temporal_period").astype("datetime64[us]").tolist()
    )
    positions: dict[datetime, list[int]] = {}
    for position, instant in enumerate(instants):
        positions.setdefault(calendar.start(instant), []).append(position)
    # Every period from the first to the last, with values or not, as the spec requires.
    starts, last = [min(positions)], max(positions)
    while starts[-1] < last:
        starts.append(calendar.following(starts[-1]))
    groups = [np.array(positions.get(start, []), dtype=int) for start in starts]
    labels = np.array([calendar.label(start) for start in starts])
    return aggregate(cube, dim, groups, labels, reducer, context, "aggregate_temporal_period")


# --- merge_cubes, mask --------------------------------------------------------------------


@process()
def merge_cubes(
    cube1: RasterCube,
    cube2: RasterCube,
    overlap_resolver: ChildProcess | None = None,
    context: Any = None,
) -> RasterCube:
    """openEO `merge_cubes`: the union of both cubes' labels along every dimension.

    Spatial and temporal labels stay sorted, other labels (bands) are cube1's followed by
    cube2's new ones; a cube lacking a dimension is merged with every label of it. Values
    present in both go through `overlap_resolver(x, y, context)`. Raises
    OverlapResolverMissing, and ProcessParameterInvalid for different CRS or misaligned
    grids (resample_cube_spatial first) and conflicting dimension types.
    """
    first = require_cube(cube1, "merge_cubes", "cube1")
    second = require_cube(cube2, "merge_cubes", "cube2")
    types = _merged_types(first, second)
    second_data = _on_grid_of(second, first)
    dims = _merged_order(first.dims, second.dims)
    shared = [dim for dim in first.dims if dim in second.dims]
    union = {
        dim: _union_labels(first.data, second_data, dim, types.get(dim, OTHER)) for dim in dims
    }
    left = first.data.reindex({dim: union[dim] for dim in first.dims})
    right = second_data.reindex({dim: union[dim] for dim in second.dims})
    # Outside the overlap a cell has labels in one cube only; the other is NaN there.
    merged = left.fillna(right)
    common = {
        dim: np.intersect1d(first.data[dim].values, second_data[dim].values) for dim in shared
    }
    if all(len(labels) for labels in common.values()):
        merged = _resolve_overlap(
            first.data, second_data, common, union, merged, overlap_resolver, context
        )
    return first.with_data(merged.transpose(*dims), dimension_types=types)


def _merged_types(first: RasterCube, second: RasterCube) -> dict[str, str]:
    if (
        first.crs != second.crs
        and first.dimension_of_type(SPATIAL)
        and second.dimension_of_type(SPATIAL)
    ):
        raise ProcessParameterInvalid(
            process="merge_cubes",
            parameter="cube2",
            reason=f"cube2 is in {second.crs}, cube1 in {first.crs}; "
            "resample_cube_spatial cube2 onto cube1 first",
        )
    for dim in set(first.dims) & set(second.dims):
        if first.dimension_types.get(dim) != second.dimension_types.get(dim):
            raise ProcessParameterInvalid(
                process="merge_cubes",
                parameter="cube2",
                reason=f"dimension {dim!r} is of type {second.dimension_types.get(dim)} in cube2 "
                f"but {first.dimension_types.get(dim)} in cube1",
            )
    return {**second.dimension_types, **first.dimension_types}


def _on_grid_of(cube: RasterCube, reference: RasterCube) -> xr.DataArray:
    """`cube`'s data with spatial coordinates snapped onto `reference`'s grid, so that equal
    pixels have equal labels; ProcessParameterInvalid if the grids do not line up."""
    snapped = {}
    for dim in cube.dimensions_of_type(SPATIAL):
        if dim not in reference.dims:
            continue
        values = cube.data.coords[dim].values.astype(float)
        grid = reference.data.coords[dim].values.astype(float)
        steps = [labels[1] - labels[0] for labels in (grid, values) if len(labels) > 1]
        if not steps:
            continue
        index = np.rint((values - grid[0]) / steps[0])
        on_grid = grid[0] + index * steps[0]
        if not np.isclose(steps[0], steps[-1]) or not np.allclose(
            on_grid, values, rtol=0, atol=abs(steps[0]) * 1e-3
        ):
            raise ProcessParameterInvalid(
                process="merge_cubes",
                parameter="cube2",
                reason=f"the {dim} coordinates of cube2 are not on the pixel grid of cube1; "
                "resample_cube_spatial cube2 onto cube1 first",
            )
        inside = (index >= 0) & (index < len(grid))
        on_grid[inside] = grid[index[inside].astype(int)]
        snapped[dim] = on_grid
    return cube.data.assign_coords(snapped)


def _merged_order(first: tuple[str, ...], second: tuple[str, ...]) -> list[str]:
    """The larger cube's dimension order (cube1 on a tie), then the other's extra dims."""
    larger, smaller = (second, first) if len(second) > len(first) else (first, second)
    return [*larger, *(dim for dim in smaller if dim not in larger)]


def _union_labels(first: xr.DataArray, second: xr.DataArray, dim: str, kind: str) -> np.ndarray:
    """Sorted for spatial (y as in cube1, usually north-up descending) and temporal
    dimensions, cube1's then cube2's new labels otherwise."""
    if dim not in second.dims:
        return first.coords[dim].values
    if dim not in first.dims:
        return second.coords[dim].values
    a, b = first.coords[dim].values, second.coords[dim].values
    if kind not in (SPATIAL, TEMPORAL):
        return np.concatenate([a, b[~np.isin(b, a)]])
    union = np.union1d(a, b)
    reference = a if len(a) > 1 else b
    descending = kind == SPATIAL and len(reference) > 1 and reference[0] > reference[-1]
    return union[::-1] if descending else union


def _resolve_overlap(
    first: xr.DataArray,
    second: xr.DataArray,
    common: dict[str, np.ndarray],
    union: dict[str, np.ndarray],
    merged: xr.DataArray,
    overlap_resolver: ChildProcess | None,
    context: Any,
) -> xr.DataArray:
    """`merged` with the cells both cubes have replaced by the resolver's values."""
    if overlap_resolver is None:
        raise OverlapResolverMissing(
            process="merge_cubes",
            parameter="overlap_resolver",
            reason="the cubes overlap in "
            f"{', '.join(common) or 'every value'}, so an overlap resolver is required",
        )
    x, y = first.sel(common), second.sel(common)
    resolved = overlap_resolver(x=x, y=y, context=context)
    values = conform(resolved, xr.broadcast(x, y)[0], "merge_cubes", "overlap_resolver")
    values = values.reindex({dim: union[str(dim)] for dim in values.dims})
    # One 1-D condition per dimension: the overlap is their product, never built in full.
    for dim, labels in common.items():
        in_overlap = xr.DataArray(np.isin(union[dim], labels), dims=[dim], coords={dim: union[dim]})
        values = xr.where(in_overlap, values, merged)
    return values


@process()
def mask(data: RasterCube, mask: RasterCube, replacement: Any = None) -> RasterCube:
    """openEO `mask`: replace values where `mask` is true or non-zero (no-data in the mask
    does not mask) by `replacement`, or no-data (NaN) when it is null. A mask lacking a
    dimension applies to every label of it. Raises IncompatibleDataCubes if the mask's
    dimensions or labels differ from the data's, and ProcessParameterInvalid if the
    replacement is not a number or boolean."""
    cube = require_cube(data, "mask", "data")
    values = _mask_values(cube, require_cube(mask, "mask", "mask"))
    masked = values if values.dtype == bool else (values != 0) & values.notnull()
    if replacement is not None and not isinstance(replacement, bool | int | float):
        raise ProcessParameterInvalid(
            process="mask", parameter="replacement", reason="a number, boolean or null is required"
        )
    replaced = (
        cube.data.where(~masked)
        if replacement is None
        else replaced_where(cube.data, ~masked, replacement)
    )
    return cube.with_data(replaced.transpose(*cube.dims))


def _mask_values(cube: RasterCube, mask_cube: RasterCube) -> xr.DataArray:
    """The mask's data labelled exactly like the cube; IncompatibleDataCubes otherwise."""

    def incompatible(reason: str) -> IncompatibleDataCubes:
        return IncompatibleDataCubes(process="mask", parameter="mask", reason=reason)

    extra = [dim for dim in mask_cube.dims if dim not in cube.dims]
    if extra:
        raise incompatible(f"the data has no dimension {', '.join(extra)}")
    if mask_cube.dimension_of_type(SPATIAL) and mask_cube.crs != cube.crs:
        raise incompatible(
            f"the mask is in {mask_cube.crs}, the data in {cube.crs}; resample_cube_spatial first"
        )
    labels = {}
    for dim in mask_cube.dims:
        ours, theirs = cube.data.coords[dim].values, mask_cube.data.coords[dim].values
        spatial = cube.dimension_types.get(dim) == SPATIAL
        same = len(ours) == len(theirs) and (
            same_coordinates(ours, theirs) if spatial else bool(np.all(ours == theirs))
        )
        if not same:
            advice = "; resample_cube_spatial the mask onto the data first" if spatial else ""
            raise incompatible(f"the labels of {dim!r} differ{advice}")
        labels[dim] = ours
    return mask_cube.data.assign_coords(labels)


# --- dimensions and labels ----------------------------------------------------------------


@process()
def rename_labels(
    data: RasterCube, dimension: str, target: Sequence[Any], source: Sequence[Any] = ()
) -> RasterCube:
    """openEO `rename_labels`: rename `source` labels of `dimension` to `target` (all of an
    enumerated dimension when `source` is empty); temporal labels are given as dates.
    Raises DimensionNotAvailable, LabelMismatch, LabelsNotEnumerated, LabelNotAvailable
    and LabelExists."""
    cube = require_cube(data, "rename_labels", "data")
    require_dimension(cube, dimension, "rename_labels", "dimension")
    _require_labels(target, "rename_labels", "target")
    _require_labels(source, "rename_labels", "source")
    values = cube.data.coords[dimension].values
    # Instants are matched as instants (`2022-06-01` names `2022-06-01T00:00:00Z`).
    temporal = np.issubdtype(values.dtype, np.datetime64)
    current = list(values) if temporal else values.tolist()
    if not source:
        if temporal or current != list(range(len(current))):
            raise LabelsNotEnumerated(
                process="rename_labels",
                parameter="source",
                reason=f"the labels of {dimension!r} are not 0, 1, 2, ...; give source labels.",
            )
        source = current[: len(target)]
    elif temporal:
        source = [_temporal_label(label, "source") for label in source]
    if len(source) != len(target):
        raise LabelMismatch(
            process="rename_labels",
            parameter="target",
            reason=f"{len(source)} source but {len(target)} target labels.",
        )
    missing = [label for label in source if label not in current]
    if missing:
        raise LabelNotAvailable(
            process="rename_labels",
            parameter="source",
            reason=f"{missing} are not labels of {dimension!r}.",
        )
    targets = [_temporal_label(label, "target") for label in target] if temporal else list(target)
    mapping = dict(zip(source, targets, strict=True))
    renamed = [mapping.get(label, label) for label in current]
    if len(set(renamed)) != len(renamed):
        raise LabelExists(
            process="rename_labels",
            parameter="target",
            reason=f"the labels of {dimension!r} would repeat.",
        )
    labels = np.array(renamed, dtype="datetime64[ns]") if temporal else label_array(renamed)
    return cube.with_data(cube.data.assign_coords({dimension: labels}))


def _label_error(parameter: str, reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process="rename_labels", parameter=parameter, reason=reason)


def _temporal_label(label: Any, parameter: str) -> np.datetime64:
    try:
        return parse_datetime(str(label))
    except ValueError as error:
        raise _label_error(parameter, f"{label!r} is not a date or date-time") from error


@process()
def rename_dimension(data: RasterCube, source: str, target: str) -> RasterCube:
    """openEO `rename_dimension`: `source` is called `target`, keeping labels and type.
    Raises DimensionNotAvailable for an unknown source and DimensionExists for an existing
    target."""
    cube = require_cube(data, "rename_dimension", "data")
    require_dimension(cube, source, "rename_dimension", "source")
    if require_name(target, "rename_dimension", "target") in cube.dims:
        raise DimensionExists(
            process="rename_dimension",
            parameter="target",
            reason=f"the cube already has a dimension {target!r}",
        )
    types = {(target if dim == source else dim): kind for dim, kind in cube.dimension_types.items()}
    return cube.with_data(cube.data.rename({source: target}), dimension_types=types)


@process()
def add_dimension(data: RasterCube, name: str, label: Any, type: str = OTHER) -> RasterCube:
    """openEO `add_dimension`: a new dimension `name` with the single `label` (a date for a
    temporal one). It goes where the (t, bands, y, x) order puts it, other dimensions just
    before the spatial ones. Raises DimensionExists for an existing name and
    ProcessParameterInvalid for a type eoplex cannot hold in a raster cube (geometry)."""
    cube = require_cube(data, "add_dimension", "data")
    if require_name(name, "add_dimension", "name") in cube.dims:
        raise DimensionExists(
            process="add_dimension",
            parameter="name",
            reason=f"the cube already has a dimension {name!r}",
        )
    if type not in DIMENSION_TYPES:
        raise ProcessParameterInvalid(
            process="add_dimension",
            parameter="type",
            reason=f"a raster cube takes dimensions of type {', '.join(DIMENSION_TYPES)}",
        )
    if not _is_label(label):
        raise ProcessParameterInvalid(
            process="add_dimension",
            parameter="label",
            reason=f"a label is a number or a string, not {label!r:.80}",
        )
    try:
        value = parse_datetime(str(label)) if type == TEMPORAL else label
    except ValueError as error:
        raise ProcessParameterInvalid(
            process="add_dimension",
            parameter="label",
            reason=f"the label of a temporal dimension is a date or date-time, not {label!r}",
        ) from error
    added = cube.data.expand_dims({name: [value]})
    order = list(cube.dims)
    order.insert(_insertion_index(cube, name), name)
    return cube.with_data(
        added.transpose(*order), dimension_types={**cube.dimension_types, name: type}
    )


def _insertion_index(cube: RasterCube, name: str) -> int:
    """Before the first dimension that (t, bands, y, x) puts after `name`; a dimension of
    another name goes before the spatial ones, so rasters stay (..., y, x)."""
    if name in DIMENSION_ORDER:
        later = DIMENSION_ORDER[DIMENSION_ORDER.index(name) + 1 :]
        after = [index for index, dim in enumerate(cube.dims) if dim in later]
    else:
        after = [
            index for index, dim in enumerate(cube.dims) if cube.dimension_types.get(dim) == SPATIAL
        ]
    return after[0] if after else len(cube.dims)


@process()
def drop_dimension(data: RasterCube, name: str) -> RasterCube:
    """openEO `drop_dimension`: remove a dimension that has a single label. Raises
    DimensionNotAvailable, or DimensionLabelCountMismatch for one with more labels."""
    cube = require_cube(data, "drop_dimension", "data")
    require_dimension(cube, name, "drop_dimension", "name")
    count = cube.data.sizes[name]
    if count != 1:
        raise DimensionLabelCountMismatch(
            process="drop_dimension",
            parameter="name",
            reason=f"{name!r} has {count} labels; reduce it first",
        )
    return cube.with_data(cube.data.squeeze(name, drop=True))


@process()
def dimension_labels(data: RasterCube, dimension: str) -> list[Any]:
    """openEO `dimension_labels`: the labels of `dimension` in cube order, instants as
    RFC 3339 strings. Raises DimensionNotAvailable for an unknown dimension."""
    cube = require_cube(data, "dimension_labels", "data")
    require_dimension(cube, dimension, "dimension_labels", "dimension")
    return cube.labels(dimension)
