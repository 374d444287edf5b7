"""Processes that change a cube's shape: create_data_cube, trim_cube, flatten_dimensions,
unflatten_dimension and reduce_spatial.

All but trim_cube stay lazy (reshapes of the dask array). trim_cube cannot: which labels
it keeps depends on the values, and xarray needs labels before it computes. It computes
one "any valid value" vector per dimension, all in a single pass over the cube, and
selects lazily after that; an estimate (which reads no pixel) takes the whole cube.
"""

from collections.abc import Sequence
from typing import Any

import dask
import dask.array
import numpy as np
import xarray as xr

from eoplex_common.errors import (
    DimensionNotAvailable,
    ProcessParameterInvalid,
    TargetDimensionExists,
)
from eoplex_executor.engine.cube import BANDS, OTHER, SPATIAL, DimensionArray, RasterCube
from eoplex_executor.engine.environment import Environment
from eoplex_executor.engine.registry import process
from eoplex_executor.processes._checks import require_cube, require_dimension, require_name
from eoplex_executor.processes._children import ChildProcess, conform

HORIZONTAL = ("y", "x")


@process()
def create_data_cube() -> RasterCube:
    """openEO `create_data_cube`: a cube without dimensions, holding a single no-data
    value, to which add_dimension adds dimensions (each with one label)."""
    return RasterCube(data=xr.DataArray(dask.array.full((), np.nan)), crs=None)


@process(environment=True)
def trim_cube(data: RasterCube, env: Environment) -> RasterCube:
    """openEO `trim_cube`: drop the labels whose values are all no-data, at both ends of
    ordered dimensions (spatial, temporal, numeric labels) and anywhere along categorical
    ones (bands, other dimensions with text labels). Computes which labels hold data (one
    pass over the cube); the result stays lazy. Integer and boolean cubes have no no-data
    and come back unchanged, and so does every cube in estimate mode, as the most it may
    hold. Raises ProcessParameterInvalid if every value is no-data, since an empty cube is
    an error in eoplex (see `eoplex_executor.engine.cube`)."""
    cube = require_cube(data, "trim_cube", "data")
    if cube.data.dtype.kind not in "fc" or not cube.dims or env.estimate is not None:
        return cube
    valid = cube.data.notnull()
    held = dask.compute(
        *[valid.any([other for other in cube.dims if other != dim]).data for dim in cube.dims]
    )
    keep = {}
    for dim, has_data in zip(cube.dims, held, strict=True):
        positions = np.flatnonzero(np.asarray(has_data))
        if positions.size == 0:
            raise _invalid(
                "trim_cube", "data", "the cube holds only no-data; no label would be left"
            )
        if _categorical(cube, dim):
            keep[dim] = positions
        else:
            keep[dim] = np.arange(positions[0], positions[-1] + 1)
    return cube.with_data(
        cube.data.isel(
            {
                dim: slice(int(kept[0]), int(kept[-1]) + 1) if _contiguous(kept) else kept
                for dim, kept in keep.items()
            }
        )
    )


def _categorical(cube: RasterCube, dim: str) -> bool:
    kind = cube.dimension_types.get(dim, OTHER)
    labels = cube.data[dim].values
    return kind == BANDS or (kind == OTHER and labels.dtype.kind not in "iufcmM")


def _contiguous(positions: np.ndarray) -> bool:
    """A slice keeps dask chunks intact where an index list would not."""
    return bool(positions[-1] - positions[0] + 1 == positions.size)


@process()
def flatten_dimensions(
    data: RasterCube, dimensions: Sequence[str], target_dimension: str, label_separator: str = "~"
) -> RasterCube:
    """openEO `flatten_dimensions` (proposal): `dimensions` become one dimension
    `target_dimension` of type other, where the first dimension's labels vary slowest and
    labels are joined with `label_separator` (instants as RFC 3339 strings). It takes the
    place of the first flattened dimension in the cube's order. Raises
    DimensionNotAvailable for an unknown dimension, TargetDimensionExists for an existing
    target, and ProcessParameterInvalid for repeated dimensions or an empty separator."""
    cube = require_cube(data, "flatten_dimensions", "data")
    _require_names(dimensions, "flatten_dimensions", "dimensions")
    require_name(target_dimension, "flatten_dimensions", "target_dimension")
    require_name(label_separator, "flatten_dimensions", "label_separator")
    if not dimensions or len(set(dimensions)) != len(dimensions):
        raise _invalid("flatten_dimensions", "dimensions", "distinct dimension names are required")
    for dim in dimensions:
        require_dimension(cube, dim, "flatten_dimensions", "dimensions")
    if target_dimension in cube.dims:
        raise TargetDimensionExists(
            process="flatten_dimensions",
            parameter="target_dimension",
            reason=f"the cube already has a dimension {target_dimension!r}",
        )
    if not label_separator:
        raise _invalid("flatten_dimensions", "label_separator", "an empty separator")
    texts = [[str(label) for label in cube.labels(dim)] for dim in dimensions]
    labels = [label_separator.join(parts) for parts in _product(texts)]
    order = [dim for dim in cube.dims if dim not in dimensions]
    position = cube.dims.index(min(dimensions, key=cube.dims.index))
    order.insert(position, target_dimension)
    arranged = cube.data.transpose(
        *[dim for dim in cube.dims if dim not in dimensions], *dimensions
    )
    values = arranged.data.reshape((*arranged.shape[: -len(dimensions)], len(labels)))
    kept = [dim for dim in cube.dims if dim not in dimensions]
    flattened = xr.DataArray(
        values,
        dims=(*kept, target_dimension),
        coords={**{dim: cube.data[dim].values for dim in kept}, target_dimension: labels},
    )
    types = {**cube.dimension_types, target_dimension: OTHER}
    return cube.with_data(flattened.transpose(*order), dimension_types=types)


def _product(levels: list[list[str]]) -> list[list[str]]:
    """Every combination of one label per level, the first level varying slowest."""
    combinations: list[list[str]] = [[]]
    for level in levels:
        combinations = [[*prefix, label] for prefix in combinations for label in level]
    return combinations


@process()
def unflatten_dimension(
    data: RasterCube, dimension: str, target_dimensions: Sequence[str], label_separator: str = "~"
) -> RasterCube:
    """openEO `unflatten_dimension` (proposal): split `dimension` into `target_dimensions`
    (type other, text labels) by cutting every label at `label_separator`; the new
    dimensions take its place in the cube's order. The labels must hold every combination
    of the parts exactly once (in any order). Raises DimensionNotAvailable for an unknown
    dimension, TargetDimensionExists for an existing target, and ProcessParameterInvalid
    for fewer than two or repeated targets and labels that do not split into such a
    product."""
    cube = require_cube(data, "unflatten_dimension", "data")
    require_dimension(cube, dimension, "unflatten_dimension", "dimension")
    targets = list(_require_names(target_dimensions, "unflatten_dimension", "target_dimensions"))
    require_name(label_separator, "unflatten_dimension", "label_separator")
    if len(targets) < 2 or len(set(targets)) != len(targets):
        raise _invalid(
            "unflatten_dimension", "target_dimensions", "two or more distinct names are required"
        )
    existing = [name for name in targets if name in cube.dims]
    if existing:
        raise TargetDimensionExists(
            process="unflatten_dimension",
            parameter="target_dimensions",
            reason=f"the cube already has {', '.join(existing)}",
        )
    if not label_separator:
        raise _invalid("unflatten_dimension", "label_separator", "an empty separator")
    parts = [str(label).split(label_separator) for label in cube.labels(dimension)]
    if any(len(split) != len(targets) for split in parts):
        raise _invalid(
            "unflatten_dimension",
            "label_separator",
            f"every label of {dimension!r} must split into {len(targets)} parts at "
            f"{label_separator!r}",
        )
    levels = [list(dict.fromkeys(split[index] for split in parts)) for index in range(len(targets))]
    position = {tuple(split): index for index, split in enumerate(parts)}
    combinations = _product(levels)
    if len(position) != len(parts) or len(combinations) != len(parts):
        raise _invalid(
            "unflatten_dimension",
            "dimension",
            f"the labels of {dimension!r} are not every combination of their parts once",
        )
    ordered = cube.data.isel({dimension: [position[tuple(parts)] for parts in combinations]})
    axis = cube.dims.index(dimension)
    shape = (*ordered.shape[:axis], *(len(level) for level in levels), *ordered.shape[axis + 1 :])
    dims = (*cube.dims[:axis], *targets, *cube.dims[axis + 1 :])
    coords: dict[str, Any] = {dim: cube.data[dim].values for dim in cube.dims if dim != dimension}
    coords.update(zip(targets, levels, strict=True))
    unflattened = xr.DataArray(ordered.data.reshape(shape), dims=dims, coords=coords)
    types = {**cube.dimension_types, **dict.fromkeys(targets, OTHER)}
    return cube.with_data(unflattened, dimension_types=types)


@process()
def reduce_spatial(data: RasterCube, reducer: ChildProcess, context: Any = None) -> RasterCube:
    """openEO `reduce_spatial` (proposal): collapse x and y with `reducer`, which sees every
    plane's pixels as one DimensionArray (along a dimension named `pixels`, in row order),
    so the usual reducers (mean, max, quantiles...) work lazily. Raises
    DimensionNotAvailable for a cube without spatial x and y, and ProcessParameterInvalid
    for a reducer that does not reduce."""
    cube = require_cube(data, "reduce_spatial", "data")
    for dim in HORIZONTAL:
        require_dimension(cube, dim, "reduce_spatial", "data")
        if cube.dimension_types.get(dim) != SPATIAL:
            raise DimensionNotAvailable(
                process="reduce_spatial", parameter="data", reason=f"{dim!r} is not spatial"
            )
    pixels = "pixels"
    while pixels in cube.dims:
        pixels = f"_{pixels}"
    template = cube.data.isel(dict.fromkeys(HORIZONTAL, 0), drop=True)
    arranged = cube.data.transpose(..., *HORIZONTAL)
    values = arranged.data.reshape((*arranged.shape[:-2], -1))
    stacked = xr.DataArray(
        values,
        dims=(*template.dims, pixels),
        coords={
            **{dim: template[dim].values for dim in template.dims},
            pixels: np.arange(values.shape[-1]),
        },
    )
    reduced = reducer(data=DimensionArray(stacked, pixels), context=context)
    return cube.with_data(conform(reduced, template, "reduce_spatial", "reducer"))


def _require_names(value: Any, process_id: str, parameter: str) -> Sequence[str]:
    """An array of dimension names (strings)."""
    if not isinstance(value, list | tuple) or not all(isinstance(name, str) for name in value):
        raise _invalid(process_id, parameter, f"expected an array of names, not {value!r:.80}")
    return value


def _invalid(process_id: str, parameter: str, reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process=process_id, parameter=parameter, reason=reason)
