"""Processes on vector data cubes, and between raster and vector cubes.

`aggregate_spatial` and `apply_polygon` cut a raster cube by geometries (see
`eoplex_executor.geo.zonal` for which pixels a geometry covers); `load_geojson` and
`load_uploaded_files` make vector cubes; `filter_vector`, `vector_buffer`,
`vector_reproject` and the point samplers transform them. Everything that touches
raster values stays lazy. Errors the process specifications declare
(`TargetDimensionExists`, `GeometriesOverlap`, `UnitMismatch`, `CountMismatch`,
`FormatUnsuitable`, ...) are raised as themselves.
"""

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import xarray as xr
from shapely.geometry.base import BaseGeometry

from eoplex_common.errors import (
    CountMismatch,
    DimensionNotAvailable,
    FormatUnsuitable,
    GeometriesOverlap,
    ProcessParameterInvalid,
    TargetDimensionExists,
    UnitMismatch,
)
from eoplex_executor.engine.cube import (
    GEOMETRY,
    OTHER,
    DimensionArray,
    RasterCube,
    VectorCube,
    replaced_where,
)
from eoplex_executor.engine.environment import Environment
from eoplex_executor.engine.graph import Callback
from eoplex_executor.engine.pixel_meter import check_planned, vector_coordinates
from eoplex_executor.engine.registry import process
from eoplex_executor.geo.geometry import crs_name, cube_crs, parse_crs
from eoplex_executor.geo.vector import (
    as_vector_cube,
    crs_units_are_metres,
    geometries_in,
    vector_cube_from_geojson,
)
from eoplex_executor.geo.zonal import FAST_REDUCERS, Zones, pixels_by_size, reduce_zones, zones
from eoplex_executor.io.cog import UnreadableRaster, read_geotiff
from eoplex_executor.processes._checks import is_finite_number, require_cube
from eoplex_executor.processes._children import ChildProcess

# The labels of aggregate_spatial's `target_dimension`.
COUNT_LABELS = ["value", "total_count", "valid_count"]
# Input formats of load_uploaded_files, by lower-case name (format names are case-insensitive).
UPLOAD_FORMATS = {"geojson": "GeoJSON", "gtiff": "GTiff"}
# More sample points than this (vector_to_regular_points) is a mistake, not a sample.
MAX_POINTS = 1_000_000
# At most how many coordinates vector_buffer makes of each coordinate: a point becomes 33
# (shapely's round buffer, 8 segments a quarter circle), a vertex of a line or polygon an
# arc of at most half a circle. The bound is checked against the pixel limits first.
BUFFER_COORDINATES = 33
RELATIONS = {
    "intersects": shapely.intersects,
    "disjoint": shapely.disjoint,
    "equals": shapely.equals,
    "touches": shapely.touches,
    "crosses": shapely.crosses,
    "overlaps": shapely.overlaps,
    "contains": shapely.contains,
    "within": shapely.within,
}


# --- aggregate_spatial ----------------------------------------------------------------------


@process()
def aggregate_spatial(
    data: RasterCube,
    geometries: Any,
    reducer: ChildProcess,
    target_dimension: str | None = None,
    context: Any = None,
) -> VectorCube:
    """openEO `aggregate_spatial`: `reducer` over the pixels of every geometry (GeoJSON or a
    vector cube), per label of the cube's other dimensions: a vector cube (geometry, t,
    bands, ...) whose geometries, properties and CRS are those given. Polygons take the
    pixels whose centre they contain, points and lines the pixels they pass through;
    a geometry without pixels gets no-data. Single-process reducers (mean, sum, min, max,
    count, sd, variance) run vectorised over all geometries at once; any other child
    graph gets each geometry's pixels as a DimensionArray along `pixel`. Raises
    TargetDimensionExists for an existing `target_dimension`, and ProcessParameterInvalid
    for a cube without x/y, invalid geometries or a reducer that does not reduce.
    """
    cube = require_cube(data, "aggregate_spatial")
    crs = cube_crs(cube, process="aggregate_spatial")
    vectors = as_vector_cube(geometries, process="aggregate_spatial", parameter="geometries")
    if target_dimension is not None and not isinstance(target_dimension, str):
        raise _invalid("aggregate_spatial", "target_dimension", "a dimension name or null")
    if target_dimension is not None and target_dimension in (*cube.dims, GEOMETRY):
        raise TargetDimensionExists(
            process="aggregate_spatial",
            parameter="target_dimension",
            reason=f"the result already has a dimension {target_dimension!r}",
        )
    found = zones(
        geometries_in(vectors, crs), cube.data.coords["x"].values, cube.data.coords["y"].values
    )
    cropped = cube.data.isel(found.window)
    fast = _fast_reducer(reducer)
    if not found.order.size:
        values = _no_values(cube, len(vectors), target_dimension)
    elif fast is not None:
        values = _fast_aggregate(cropped, found, *fast, target_dimension)
    else:
        values = _aggregate_by_size(cropped, found, reducer, context, target_dimension)
    types = {
        dim: cube.dimension_types.get(dim, OTHER) for dim in cube.dims if dim not in ("x", "y")
    }
    if target_dimension is not None:
        values = values.assign_coords({target_dimension: COUNT_LABELS})
        types[target_dimension] = OTHER
    return vectors.with_values(values.transpose(GEOMETRY, *types), types)


def _fast_reducer(reducer: Any) -> tuple[str, bool] | None:
    """(process id, ignore_nodata) when the reducer is one process of FAST_REDUCERS that
    reads only `data` (and a literal ignore_nodata), else None."""
    if not isinstance(reducer, Callback) or reducer.single_process() not in FAST_REDUCERS:
        return None
    node = next(iter(reducer.graph.values()))
    arguments = dict(node.get("arguments", {}))
    if node.get("namespace") not in (None, "backend"):
        return None
    if arguments.pop("data", None) != {"from_parameter": "data"}:
        return None
    ignore_nodata = arguments.pop("ignore_nodata", True)
    if node["process_id"] == "count" and arguments.pop("condition", None) is not None:
        return None
    if arguments or not isinstance(ignore_nodata, bool):
        return None
    return str(node["process_id"]), ignore_nodata


def _fast_aggregate(
    cropped: xr.DataArray, found: Zones, reducer: str, ignore_nodata: bool, target: str | None
) -> xr.DataArray:
    """Every geometry reduced at once from partial statistics of each chunk."""
    data = cropped.reset_coords(drop=True).transpose(..., "y", "x")
    values = reduce_zones(data, found, reducer, ignore_nodata, with_counts=target is not None)
    lead = [str(dim) for dim in data.dims[:-2]]
    labels = {dim: data.coords[dim] for dim in lead if dim in data.coords}
    dims = [*lead, GEOMETRY, *([] if target is None else [target])]
    return xr.DataArray(values, dims=dims, coords=labels)


def _aggregate_by_size(
    cropped: xr.DataArray,
    found: Zones,
    reducer: ChildProcess,
    context: Any,
    target: str | None,
) -> xr.DataArray:
    """One reducer call per distinct pixel count: geometries of n pixels each are an
    (..., geometry, pixel) array without padding, so any child graph sees exactly its
    geometry's values."""
    parts = []
    for pixels in pixels_by_size(cropped.reset_coords(drop=True).transpose(..., "y", "x"), found):
        size = pixels.sizes["pixel"]
        template = pixels.isel(pixel=0, drop=True)
        reduced = reducer(data=DimensionArray(pixels, "pixel"), context=context)
        value = _one_value(reduced, template, "aggregate_spatial", "pixel")
        if target is not None:
            valid = pixels.notnull().sum("pixel").astype(np.float64)
            counts = [value.astype(np.float64), xr.full_like(valid, float(size)), valid]
            value = xr.concat(counts, dim=target, join="exact", coords="minimal")
        parts.append(value)
    combined = xr.concat(parts, dim=GEOMETRY, join="outer", coords="minimal", compat="override")
    if combined.sizes[GEOMETRY] < len(found.counts) and combined.dtype == bool:
        combined = combined.astype(np.float64)  # booleans have no no-data to fill gaps with
    everything = np.arange(len(found.counts))
    return combined.reindex({GEOMETRY: everything}).sortby(GEOMETRY)


def _one_value(result: Any, template: xr.DataArray, process_id: str, reduced: str) -> xr.DataArray:
    """A reducer's result shaped like `template`, one value where `reduced` was a list of
    values (scalars broadcast). ProcessParameterInvalid if it did not reduce."""
    if isinstance(result, DimensionArray):
        result = result.data
    if isinstance(result, xr.DataArray):
        if reduced in result.dims or set(result.dims) - set(template.dims):
            raise _invalid(
                process_id, "reducer", f"the reducer must reduce the {reduced}s to one value"
            )
        scalars = [name for name, coord in result.coords.items() if coord.ndim == 0]
        return result.drop_vars(scalars).broadcast_like(template).transpose(*template.dims)
    if result is None:
        result = np.nan
    if isinstance(result, bool | int | float | np.generic):
        return xr.full_like(template, result, dtype=np.asarray(result).dtype)
    raise _invalid(
        process_id, "reducer", f"the reducer returned {type(result).__name__}, not a value"
    )


def _no_values(cube: RasterCube, count: int, target: str | None) -> xr.DataArray:
    """No-data for every geometry (none covers a pixel); counts of 0 with a target dimension."""
    template = cube.data.isel(y=0, x=0, drop=True).reset_coords(drop=True)
    values = xr.full_like(template, np.nan, dtype=np.float64).expand_dims({GEOMETRY: count})
    if target is None:
        return values
    zeros = xr.zeros_like(values)
    return xr.concat([values, zeros, zeros], dim=target)


# --- apply_polygon ----------------------------------------------------------------------------


@process()
def apply_polygon(
    data: RasterCube,
    geometries: Any,
    process: ChildProcess,
    mask_value: Any = None,
    context: Any = None,
) -> RasterCube:
    """openEO `apply_polygon`: `process` on the sub-cube of every polygon (its pixel-aligned
    extent, pixels whose centre is outside replaced by `mask_value`); the results are put
    back in place. Pixels outside every polygon are no-data, since nothing computed them.
    Raises GeometriesOverlap for polygons sharing a pixel, and ProcessParameterInvalid for
    non-polygons or a process that does not return a cube of the same dimensions and
    spatial labels."""
    cube = require_cube(data, "apply_polygon")
    if mask_value is not None and not isinstance(mask_value, bool | int | float):
        raise _invalid("apply_polygon", "mask_value", "a number, boolean or null is required")
    crs = cube_crs(cube, process="apply_polygon")
    vectors = as_vector_cube(geometries, process="apply_polygon", parameter="geometries")
    shapes = [shape for shape in geometries_in(vectors, crs) if not shape.is_empty]
    if not shapes or any(shape.geom_type not in ("Polygon", "MultiPolygon") for shape in shapes):
        raise _invalid("apply_polygon", "geometries", "give at least one polygon, only polygons")
    x, y = cube.data.coords["x"].values, cube.data.coords["y"].values
    found = zones(shapes, x, y)
    if np.unique(found.order).size != found.order.size:
        raise GeometriesOverlap(
            process="apply_polygon",
            parameter="geometries",
            reason="at least two of them overlap.",
        )
    combined: xr.DataArray | None = None
    for index in range(len(shapes)):
        pixels = found.pixels_of(index)
        if pixels.size:
            piece = _apply_to_polygon(cube, found, pixels, process, mask_value, context)
            combined = piece if combined is None else piece.combine_first(combined)
    if combined is None:
        raise _invalid("apply_polygon", "geometries", "the polygons cover no pixel centre")
    full = combined.reindex({"y": y, "x": x})
    return cube.with_data(full.transpose(*combined.dims))


def _apply_to_polygon(
    cube: RasterCube,
    found: Zones,
    pixels: np.ndarray,
    process: ChildProcess,
    mask_value: Any,
    context: Any,
) -> xr.DataArray:
    """The process's result on one polygon's sub-cube, no-data outside the polygon."""
    rows, cols = np.divmod(pixels, found.shape[1])
    top, left = found.window["y"].start + rows.min(), found.window["x"].start + cols.min()
    height, width = int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)
    inside = np.zeros((height, width), dtype=bool)
    inside[rows - rows.min(), cols - cols.min()] = True
    sub = cube.data.isel(y=slice(top, top + height), x=slice(left, left + width))
    mask = xr.DataArray(inside, dims=("y", "x"), coords={"y": sub.y, "x": sub.x})
    masked = sub.where(mask) if mask_value is None else replaced_where(sub, mask, mask_value)
    result = process(data=cube.with_data(masked), context=context)
    if (
        not isinstance(result, RasterCube)
        or set(result.dims) != set(cube.dims)
        or not np.array_equal(result.data.coords["x"].values, sub.x.values)
        or not np.array_equal(result.data.coords["y"].values, sub.y.values)
    ):
        raise _invalid(
            "apply_polygon",
            "process",
            "the process must return a data cube with the dimensions and spatial labels it got",
        )
    return result.data.transpose(*cube.dims).where(mask)


# --- making vector cubes ------------------------------------------------------------------


@process()
def load_geojson(data: Any, properties: Sequence[str] = ()) -> VectorCube:
    """openEO `load_geojson`: GeoJSON as a vector cube (EPSG:4326), one label per Feature or
    geometry, properties kept. `properties` become the values along a new dimension
    `properties`: labelled by property name for scalar properties, by index for one
    array-valued property; missing values are no-data. Raises ProcessParameterInvalid for
    invalid GeoJSON or property values that are neither all scalars nor one array."""
    cube = vector_cube_from_geojson(data, process="load_geojson", parameter="data")
    if not isinstance(properties, list | tuple) or not all(
        isinstance(name, str) for name in properties
    ):
        raise _invalid("load_geojson", "properties", "expected an array of property names")
    if not properties:
        return cube
    rows = [[feature.get(name) for name in properties] for feature in cube.properties]
    arrays = [value for row in rows for value in row if isinstance(value, list)]
    if arrays and len(properties) != 1:
        raise _invalid("load_geojson", "properties", "only a single property may hold arrays")
    if arrays:
        length = max(len(value) for value in arrays)
        labels: list[Any] = list(range(length))
        rows = [_padded(row[0], length) for row in rows]
    else:
        labels = list(properties)
    values = _property_array(rows)
    array = xr.DataArray(values, dims=(GEOMETRY, "properties"), coords={"properties": labels})
    return cube.with_values(array, {"properties": OTHER})


def _padded(value: Any, length: int) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    return [*items, *[None] * (length - len(items))]


def _property_array(rows: list[list[Any]]) -> np.ndarray:
    """Numbers as float64 (null as NaN); anything else keeps its values in an object array."""
    flat = [value for row in rows for value in row]
    if all(value is None or is_finite_number(value) for value in flat):
        return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)
    if any(isinstance(value, Mapping | list) for value in flat):
        raise _invalid("load_geojson", "properties", "property values must be scalars")
    array = np.empty((len(rows), len(rows[0]) if rows else 0), dtype=object)
    for index, row in enumerate(rows):
        array[index, :] = row
    return array


@process(environment=True)
def load_uploaded_files(
    paths: Sequence[str], format: str, options: Mapping[str, Any], env: Environment
) -> VectorCube | RasterCube:
    """openEO `load_uploaded_files`: the caller's files from their workspace (`/files`):
    GeoJSON files as one vector cube (their features in order), or one GeoTIFF as a raster
    cube (bands, y, x), integer bands as float with no-data as NaN. Raises FileNotFound
    (from the workspace), FormatUnsuitable for an unknown format or files it cannot read,
    and ProcessParameterInvalid for options (none are supported) or no path."""
    name = UPLOAD_FORMATS.get(format.lower()) if isinstance(format, str) else None
    if name is None:
        supported = ", ".join(UPLOAD_FORMATS.values())
        raise _unsuitable(f"{format!r} is not an input format; use {supported}.")
    if options:
        raise _invalid("load_uploaded_files", "options", f"{name} takes no options")
    if (
        not isinstance(paths, list | tuple)
        or not paths
        or not all(isinstance(path, str) for path in paths)
    ):
        raise _invalid("load_uploaded_files", "paths", "give the paths of one or more files")
    if name == "GTiff" and len(paths) != 1:
        raise _invalid(
            "load_uploaded_files", "paths", "load one GeoTIFF at a time; merge_cubes combines them"
        )
    folder = env.scratch_dir / "uploaded"
    folder.mkdir(parents=True, exist_ok=True)
    # Local names of our own: the user's paths are only ever passed to their workspace.
    local = [
        env.user_files.download(path, folder / f"{index}{Path(path).suffix[:16]}")
        for index, path in enumerate(paths)
    ]
    if name == "GTiff":
        try:
            return read_geotiff(local[0], env)
        except UnreadableRaster as error:
            raise _unsuitable(f"{paths[0]} {error}") from error
    return _concatenated(
        [_read_geojson(file, path) for file, path in zip(local, paths, strict=True)]
    )


def _read_geojson(file: Path, path: str) -> VectorCube:
    try:
        document = json.loads(file.read_bytes())
    except (UnicodeDecodeError, ValueError) as error:
        raise _unsuitable(f"{path} is not JSON: {error}") from error
    try:
        return vector_cube_from_geojson(document, process="load_uploaded_files", parameter="paths")
    except ProcessParameterInvalid as error:
        raise _unsuitable(f"{path} is no usable GeoJSON: {error.params['reason']}") from error


def _concatenated(cubes: list[VectorCube]) -> VectorCube:
    return VectorCube(
        geometries=tuple(g for cube in cubes for g in cube.geometries),
        crs=cubes[0].crs,
        properties=tuple(p for cube in cubes for p in cube.properties),
        ids=tuple(i for cube in cubes for i in cube.ids),
    )


# --- transforming vector cubes --------------------------------------------------------------


@process()
def filter_vector(data: Any, geometries: Any, relation: str = "intersects") -> VectorCube:
    """openEO `filter_vector`: the geometries of `data` for which `relation(candidate, union of
    geometries)` holds (e.g. `within`: candidates within the base geometries), compared in
    `data`'s CRS; empty ones are dropped. Raises ProcessParameterInvalid for an unknown
    relation or when no geometry is left."""
    cube = as_vector_cube(data, process="filter_vector", parameter="data")
    base = as_vector_cube(geometries, process="filter_vector", parameter="geometries")
    predicate = RELATIONS.get(relation) if isinstance(relation, str) else None
    if predicate is None:
        raise _invalid("filter_vector", "relation", f"one of {', '.join(RELATIONS)}")
    union = shapely.union_all(np.asarray(geometries_in(base, cube.crs), dtype=object))
    candidates = np.asarray(cube.geometries, dtype=object)
    keep = np.flatnonzero(predicate(candidates, union) & ~shapely.is_empty(candidates))
    if not keep.size:
        raise _invalid("filter_vector", "geometries", f"no geometry of data {relation} them")
    return cube.select(keep.tolist())


@process(environment=True)
def vector_buffer(geometries: Any, distance: float, env: Environment) -> VectorCube:
    """openEO `vector_buffer`: every geometry grown (distance > 0) or shrunk (< 0) by
    `distance` metres into polygons; empty ones stay empty. Raises ProcessParameterInvalid
    for a distance of 0, UnitMismatch for a CRS not in metres, and, before buffering,
    ProcessGraphComplexity or PaymentRequired when the polygons could hold more
    coordinates than the execution's pixel limits leave (`pixel_meter.check_planned`)."""
    cube = as_vector_cube(geometries, process="vector_buffer", parameter="geometries")
    if not is_finite_number(distance) or distance == 0:
        raise _invalid("vector_buffer", "distance", "a non-zero number of metres")
    _require_metres(cube, "vector_buffer")
    check_planned(env, (BUFFER_COORDINATES - 1) * vector_coordinates(cube))
    with np.errstate(all="ignore"):
        try:
            buffered = shapely.buffer(np.asarray(cube.geometries, dtype=object), float(distance))
        except shapely.errors.GEOSException as error:
            raise _invalid("vector_buffer", "distance", f"cannot buffer by it: {error}") from error
    if not np.isfinite(shapely.get_coordinates(buffered)).all():
        raise _invalid("vector_buffer", "distance", "the buffered coordinates overflow")
    return cube.with_geometries(list(buffered), cube.crs)


@process()
def vector_reproject(data: Any, projection: Any, dimension: str | None = None) -> VectorCube:
    """openEO `vector_reproject`: the geometries transformed into `projection` (EPSG code or
    WKT2). Raises DimensionNotAvailable for a dimension other than `geometry`, and
    ProcessParameterInvalid for an unknown CRS or geometries outside the CRS's area."""
    cube = as_vector_cube(data, process="vector_reproject", parameter="data")
    if dimension is not None and dimension != GEOMETRY:
        raise DimensionNotAvailable(
            process="vector_reproject",
            parameter="dimension",
            reason=f"no geometry dimension {dimension!r}",
        )
    crs = parse_crs(projection, process="vector_reproject", parameter="projection")
    moved = geometries_in(cube, crs)
    coordinates = shapely.get_coordinates(np.asarray(moved, dtype=object))
    if not np.isfinite(coordinates).all():
        raise _invalid(
            "vector_reproject", "projection", "the geometries lie outside the CRS's area"
        )
    return cube.with_geometries(moved, crs_name(crs))


@process(environment=True)
def vector_to_regular_points(
    data: Any, distance: float, env: Environment, group: bool = True
) -> VectorCube:
    """openEO `vector_to_regular_points`: polygons sampled at the centres of a grid of
    `distance` metres from their upper-left corner (their first coordinate if none falls
    inside), lines every `distance` metres from their start, points as they are. Raises
    UnitMismatch for a CRS not in metres, ProcessParameterInvalid for a distance <= 0 or
    more than a million points in all, and ProcessGraphComplexity or PaymentRequired for
    more than the execution's pixel limits leave, all before any point is made."""
    cube = as_vector_cube(data, process="vector_to_regular_points", parameter="data")
    if not is_finite_number(distance) or distance <= 0:
        raise _invalid("vector_to_regular_points", "distance", "a positive number of metres")
    _require_metres(cube, "vector_to_regular_points")
    planned = sum(_planned_points(geometry, float(distance)) for geometry in cube.geometries)
    if planned > MAX_POINTS:
        raise _invalid("vector_to_regular_points", "distance", "more than a million points")
    check_planned(env, planned - vector_coordinates(cube))
    samples = [_regular_points(geometry, float(distance)) for geometry in cube.geometries]
    return _points_cube(cube, samples, group, "vector_to_regular_points")


def _planned_points(geometry: BaseGeometry, distance: float) -> float:
    """At most how many points `_regular_points` makes of `geometry` (in floating point,
    so that a tiny distance is a large number, not an overflow; beyond floats, infinite)."""
    if geometry.is_empty:
        return 0.0
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        minx, miny, maxx, maxy = geometry.bounds
        columns, rows = (maxx - minx) / distance, (maxy - miny) / distance
        if not (math.isfinite(columns) and math.isfinite(rows)):
            return math.inf
        return max(float(math.ceil(columns)) * float(math.ceil(rows)), 1.0)
    if geometry.geom_type in ("LineString", "MultiLineString"):
        parts = getattr(geometry, "geoms", [geometry])
        return sum(part.length / distance + 1 for part in parts)
    return float(shapely.get_num_coordinates(geometry))


def _regular_points(geometry: BaseGeometry, distance: float) -> np.ndarray:
    if geometry.is_empty:
        return np.empty((0, 2))
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        minx, miny, maxx, maxy = geometry.bounds
        columns, rows = math.ceil((maxx - minx) / distance), math.ceil((maxy - miny) / distance)
        xs, ys = np.meshgrid(
            minx + distance * (np.arange(columns) + 0.5), maxy - distance * (np.arange(rows) + 0.5)
        )
        inside = shapely.contains_xy(geometry, xs, ys)
        points = np.column_stack([xs[inside], ys[inside]])
        return points if len(points) else shapely.get_coordinates(geometry)[:1]
    if geometry.geom_type in ("LineString", "MultiLineString"):
        parts = getattr(geometry, "geoms", [geometry])
        along = [
            shapely.get_coordinates(
                shapely.line_interpolate_point(part, np.arange(0.0, part.length + 1e-9, distance))
            )
            for part in parts
        ]
        return np.concatenate(along)
    return shapely.get_coordinates(geometry)


@process()
def vector_to_random_points(
    data: Any,
    geometry_count: int | None = None,
    total_count: int | None = None,
    group: bool = True,
    seed: int | None = None,
) -> VectorCube:
    """openEO `vector_to_random_points`: random points in polygons, on lines, or picked among
    the points of each geometry, at least one per non-empty geometry, at most
    `geometry_count` each and `total_count` overall (shared out evenly). The same `seed`
    gives the same points. Raises CountMismatch for a total_count below the number of
    geometries."""
    cube = as_vector_cube(data, process="vector_to_random_points", parameter="data")
    for name, count in (("geometry_count", geometry_count), ("total_count", total_count)):
        if count is not None and not (_is_integer(count) and count >= 1):
            raise _invalid("vector_to_random_points", name, "an integer of at least 1 or null")
    if seed is not None and not _is_integer(seed):
        raise _invalid("vector_to_random_points", "seed", "an integer or null")
    if total_count is not None and total_count < len(cube):
        raise CountMismatch(
            process="vector_to_random_points",
            parameter="total_count",
            reason=f"{total_count} points cannot cover {len(cube)} geometries",
        )
    planned = (geometry_count or 1) * len(cube) if geometry_count or total_count is None else 0
    if total_count is not None:
        planned = min(planned, total_count) if planned else total_count
    if planned > MAX_POINTS:
        parameter = "geometry_count" if total_count is None else "total_count"
        raise _invalid("vector_to_random_points", parameter, "more than a million points")
    counts = np.full(len(cube), geometry_count or 1, dtype=np.int64)
    if total_count is not None:
        # Beyond MAX_POINTS, geometry_count limits every share (checked above).
        total = min(total_count, MAX_POINTS + 1)
        share = total // len(cube) + (np.arange(len(cube)) < total % len(cube))
        counts = share if geometry_count is None else np.minimum(counts, share)
    # numpy takes seeds of 0 and above: negative ones map onto large ones, distinctly.
    rng = np.random.default_rng(None if seed is None else seed % 2**128)
    samples = [_random_points(g, int(n), rng) for g, n in zip(cube.geometries, counts, strict=True)]
    return _points_cube(cube, samples, group, "vector_to_random_points")


def _random_points(geometry: BaseGeometry, count: int, rng: np.random.Generator) -> np.ndarray:
    if geometry.is_empty:
        return np.empty((0, 2))
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        minx, miny, maxx, maxy = geometry.bounds
        found = np.empty((0, 2))
        # Rejection sampling in the box; a sliver with (almost) no area gets a point on it.
        for _ in range(100):
            xy = rng.uniform((minx, miny), (maxx, maxy), size=(max(4 * count, 64), 2))
            found = np.concatenate([found, xy[shapely.contains_xy(geometry, xy[:, 0], xy[:, 1])]])
            if len(found) >= count:
                return found[:count]
        return found if len(found) else shapely.get_coordinates(geometry.representative_point())
    if geometry.geom_type in ("LineString", "MultiLineString"):
        # Uniform along the total length: a position picks its part, then its place on it.
        parts = list(getattr(geometry, "geoms", [geometry]))
        ends = np.cumsum([part.length for part in parts])
        positions = rng.uniform(0.0, ends[-1], size=count)
        owner = np.minimum(np.searchsorted(ends, positions, side="right"), len(parts) - 1)
        offsets = positions - np.concatenate([[0.0], ends[:-1]])[owner]
        lines = np.asarray(parts, dtype=object)[owner]
        return shapely.get_coordinates(shapely.line_interpolate_point(lines, offsets))
    points = shapely.get_coordinates(geometry)
    return points[rng.choice(len(points), size=min(count, len(points)), replace=False)]


def _points_cube(
    cube: VectorCube, samples: list[np.ndarray], group: bool, process_id: str
) -> VectorCube:
    """One MultiPoint per geometry (ids, properties and values kept), or one Point per
    sample (properties and values of its geometry, no id)."""
    if group:
        multipoints = [shapely.MultiPoint(points) for points in samples]
        return cube.with_geometries(multipoints, cube.crs)
    owners = [index for index, points in enumerate(samples) for _ in range(len(points))]
    if not owners:
        raise _invalid(process_id, "data", "every geometry is empty: no point to sample")
    points = shapely.points(np.concatenate([points for points in samples if len(points)]))
    selected = cube.select(owners)
    return VectorCube(
        geometries=tuple(points),
        crs=cube.crs,
        properties=selected.properties,
        values=selected.values,
        dimension_types=selected.dimension_types,
    )


# --- aggregate_spatial_window ---------------------------------------------------------------


@process()
def aggregate_spatial_window(
    data: RasterCube,
    reducer: ChildProcess,
    size: Sequence[int],
    boundary: str = "pad",
    align: str = "upper-left",
    context: Any = None,
) -> RasterCube:
    """openEO `aggregate_spatial_window`: `reducer` over non-overlapping windows of size
    [x, y] pixels; an incomplete last window is padded with no-data (`pad`) or dropped
    (`trim`) on the side opposite `align`. Labels are the windows' centres. Raises
    ProcessParameterInvalid for a bad size or a reducer that does not reduce."""
    cube = require_cube(data, "aggregate_spatial_window")
    cube_crs(cube, process="aggregate_spatial_window")
    if (
        not isinstance(size, Sequence)
        or len(size) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in size)
    ):
        raise _invalid("aggregate_spatial_window", "size", "expected [x, y], integers >= 1")
    if boundary not in ("pad", "trim"):
        raise _invalid("aggregate_spatial_window", "boundary", "pad or trim")
    vertical, horizontal = (
        align.split("-", 1) if isinstance(align, str) and "-" in align else ("", "")
    )
    if vertical not in ("upper", "lower") or horizontal not in ("left", "right"):
        raise _invalid("aggregate_spatial_window", "align", "e.g. upper-left")
    windows = {"x": int(size[0]), "y": int(size[1])}
    # Indices run west to east and north to south: `upper`/`left` align to the first index.
    sides = {"x": horizontal, "y": "left" if vertical == "upper" else "right"}
    labels = {dim: _window_centres(cube, dim, windows[dim], boundary, sides[dim]) for dim in "xy"}
    if any(len(centres) == 0 for centres in labels.values()):
        raise _invalid("aggregate_spatial_window", "size", "trim leaves no complete window")
    windowed = (
        cube.data.coarsen(windows, boundary=boundary, side=sides)  # type: ignore[arg-type]
        .construct(x=("x", "window_x"), y=("y", "window_y"))
        .stack(window=("window_y", "window_x"))
        .drop_vars(["window", "window_y", "window_x", "x", "y"], errors="ignore")
    )
    result = reducer(data=DimensionArray(windowed, "window"), context=context)
    template = windowed.isel(window=0, drop=True)
    reduced = _one_value(result, template, "aggregate_spatial_window", "window")
    return cube.with_data(reduced.assign_coords(labels).transpose(*cube.dims))


def _window_centres(cube: RasterCube, dim: str, size: int, boundary: str, side: str) -> np.ndarray:
    labels = cube.data.coords[dim].values.astype(np.float64)
    count = len(labels) // size if boundary == "trim" else math.ceil(len(labels) / size)
    step = float(labels[1] - labels[0]) if len(labels) > 1 else 1.0
    # With side `right` the last window ends at the last label, so the first may start before.
    first = 0 if side == "left" else len(labels) - count * size
    return labels[0] + step * (first + np.arange(count) * size + (size - 1) / 2)


# --- helpers ------------------------------------------------------------------------------


def _require_metres(cube: VectorCube, process_id: str) -> None:
    if not crs_units_are_metres(cube.crs):
        raise UnitMismatch(
            process=process_id,
            parameter="data" if process_id != "vector_buffer" else "geometries",
            reason=f"{cube.crs} is not in metres; vector_reproject to a projected CRS",
        )


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unsuitable(reason: str) -> FormatUnsuitable:
    return FormatUnsuitable(process="load_uploaded_files", parameter="format", reason=reason)


def _invalid(process_id: str, parameter: str, reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process=process_id, parameter=parameter, reason=reason)
