"""Filters on raster data cubes: bbox, temporal, bands, spatial, labels, and mask_polygon.

Filters select labels (lazily, by index) and never compute the cube's data. A filter
that leaves no label raises ProcessParameterInvalid rather than return an empty cube.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr
from shapely.geometry.base import BaseGeometry

from eoplex_common.errors import (
    BandFilterParameterMissing,
    DimensionMissing,
    DimensionNotAvailable,
    ProcessParameterInvalid,
    TemporalExtentEmpty,
)
from eoplex_executor.engine.cube import (
    BANDS,
    TEMPORAL,
    RasterCube,
    parse_datetime,
    replaced_where,
)
from eoplex_executor.engine.registry import process
from eoplex_executor.geo.bands import band_wavelength, resolve_band
from eoplex_executor.geo.geometry import (
    WGS84,
    bbox_in_crs,
    cube_crs,
    geometry_mask,
    reproject_geometries,
)
from eoplex_executor.geo.vector import wgs84_geometries
from eoplex_executor.processes._checks import require_cube, require_dimension

POLYGON_TYPES = ("Polygon", "MultiPolygon")


@process()
def filter_bbox(data: RasterCube, extent: Mapping[str, Any]) -> RasterCube:
    """openEO `filter_bbox`: the pixels whose centre lies in the box (reprojected to the cube's
    CRS). Raises ProcessParameterInvalid for an invalid box or one holding no pixel centre."""
    crs = cube_crs(require_cube(data, "filter_bbox"), process="filter_bbox")
    minx, miny, maxx, maxy = bbox_in_crs(extent, crs, process="filter_bbox", parameter="extent")
    x, y = data.data.coords["x"].values, data.data.coords["y"].values
    window = {
        "x": _index_window((x >= minx) & (x <= maxx)),
        "y": _index_window((y >= miny) & (y <= maxy)),
    }
    if any(part is None for part in window.values()):
        raise _invalid("filter_bbox", "extent", "no pixel of the cube lies in the extent")
    return data.with_data(data.data.isel(window))


@process()
def filter_temporal(
    data: RasterCube, extent: Sequence[str | None], dimension: str | None
) -> RasterCube:
    """openEO `filter_temporal`: the labels in the half-open interval [start, end) of `dimension`,
    or of every temporal dimension when it is null. Raises TemporalExtentEmpty for an empty
    interval, DimensionNotAvailable for an unknown dimension or a cube without a temporal
    one, and ProcessParameterInvalid for an invalid interval or no label left."""
    start, end = _temporal_interval(extent)
    array = require_cube(data, "filter_temporal").data
    for name in _temporal_dimensions(data, dimension):
        labels = array.coords[name].values
        keep = np.ones(len(labels), dtype=bool)
        if start is not None:
            keep &= labels >= start
        if end is not None:
            keep &= labels < end
        if not keep.any():
            raise _invalid("filter_temporal", "extent", f"no label of dimension '{name}' is in it")
        array = array.isel({name: np.flatnonzero(keep)})
    return data.with_data(array)


@process()
def filter_bands(
    data: RasterCube, bands: Sequence[str], wavelengths: Sequence[Sequence[float]]
) -> RasterCube:
    """openEO `filter_bands`: bands by name or common name, then by wavelength ranges (µm),
    in the order asked. Raises DimensionMissing without a bands dimension,
    BandFilterParameterMissing without criteria, and ProcessParameterInvalid for a band or a
    wavelength range that matches no band of the cube."""
    dimension = require_cube(data, "filter_bands").dimension_of_type(BANDS)
    if dimension is None:
        raise DimensionMissing(
            process="filter_bands", parameter="data", reason="the cube has no bands dimension."
        )
    for name, value in (("bands", bands), ("wavelengths", wavelengths)):
        if value is not None and not isinstance(value, list | tuple):
            raise _invalid("filter_bands", name, f"expected an array or null, not {value!r:.80}")
    if not bands and not wavelengths:
        raise BandFilterParameterMissing(
            process="filter_bands", parameter="bands", reason="give bands or wavelengths."
        )
    available = [str(label) for label in data.labels(dimension)]
    selected = [
        resolve_band(name, available, process="filter_bands", parameter="bands")
        for name in bands or []
    ]
    selected += [label for span in wavelengths or [] for label in _bands_in(span, available)]
    return data.with_data(data.data.sel({dimension: list(dict.fromkeys(selected))}))


@process()
def filter_spatial(data: RasterCube, geometries: Mapping[str, Any]) -> RasterCube:
    """openEO `filter_spatial`: the cube cropped to the geometries (GeoJSON or a vector cube),
    pixels they do not cover set to no-data. Raises ProcessParameterInvalid for invalid
    GeoJSON or geometries that cover no pixel."""
    shapes = wgs84_geometries(geometries, process="filter_spatial", parameter="geometries")
    covered = _covered_pixels(require_cube(data, "filter_spatial"), shapes, "filter_spatial")
    # The extent of the covered pixels, not the geometries' bounding box: a point's or a
    # line's box may hold no pixel centre at all.
    window = {
        "y": _index_window(covered.values.any(axis=1)),
        "x": _index_window(covered.values.any(axis=0)),
    }
    if any(part is None for part in window.values()):
        raise _invalid("filter_spatial", "geometries", "the geometries cover no pixel of the cube")
    array = data.data.isel(window)
    return data.with_data(array.where(covered.isel(window), _nodata(array)))


@process()
def mask_polygon(
    data: RasterCube, mask: Mapping[str, Any], replacement: Any, inside: bool
) -> RasterCube:
    """openEO `mask_polygon`: pixels whose centre is outside every polygon (inside one, if
    `inside`) replaced by `replacement` (null: no-data); no-data stays untouched. `mask` is
    GeoJSON or a vector cube. Raises ProcessParameterInvalid for invalid GeoJSON,
    non-polygons or a non-numeric replacement."""
    if replacement is not None and not isinstance(replacement, bool | int | float):
        raise _invalid("mask_polygon", "replacement", "a number, boolean or null is required")
    polygons = wgs84_geometries(mask, process="mask_polygon", parameter="mask")
    if any(polygon.geom_type not in POLYGON_TYPES for polygon in polygons):
        raise _invalid("mask_polygon", "mask", "only Polygons and MultiPolygons can mask")
    covered = _covered_pixels(require_cube(data, "mask_polygon"), polygons, "mask_polygon")
    replaced = covered if inside else ~covered
    array = data.data
    keep = ~replaced | array.isnull()
    if replacement is None:
        return data.with_data(array.where(keep, _nodata(array)))
    return data.with_data(replaced_where(array, keep, replacement))


@process()
def filter_labels(
    data: RasterCube, condition: Callable[..., Any], dimension: str, context: Any
) -> RasterCube:
    """openEO `filter_labels`: the labels of `dimension` for which `condition(value=label,
    context=context)` is true (temporal labels as RFC 3339 strings). Raises
    DimensionNotAvailable for an unknown dimension and ProcessParameterInvalid when no label
    is left."""
    require_dimension(require_cube(data, "filter_labels"), dimension, "filter_labels", "dimension")
    keep = [
        index
        for index, label in enumerate(data.labels(dimension))
        if _is_true(condition(value=label, context=context))
    ]
    if not keep:
        raise _invalid("filter_labels", "condition", f"no label of '{dimension}' meets it")
    return data.with_data(data.data.isel({dimension: keep}))


def _index_window(keep: npt.ArrayLike) -> slice | None:
    """The slice from the first to the last true element; None if none is true. The labels
    of a spatial axis are sorted, so the kept centres are contiguous and a slice keeps the
    dask chunks intact where an index list would not."""
    indices = np.flatnonzero(keep)
    return slice(int(indices[0]), int(indices[-1]) + 1) if indices.size else None


def _temporal_interval(
    extent: Sequence[str | None],
) -> tuple[np.datetime64 | None, np.datetime64 | None]:
    if not isinstance(extent, Sequence) or isinstance(extent, str) or len(extent) != 2:
        raise _invalid("filter_temporal", "extent", "expected [start, end]")
    if extent[0] is None and extent[1] is None:
        raise _invalid("filter_temporal", "extent", "start and end cannot both be null")
    try:
        start, end = (None if bound is None else parse_datetime(bound) for bound in extent)
    except (AttributeError, TypeError, ValueError) as error:
        raise _invalid("filter_temporal", "extent", f"invalid date or time: {error}") from error
    if start is not None and end is not None and end <= start:
        raise TemporalExtentEmpty(
            process="filter_temporal",
            parameter="extent",
            reason=f"the end {extent[1]} is not later than the start {extent[0]}.",
        )
    return start, end


def _temporal_dimensions(data: RasterCube, dimension: str | None) -> list[str]:
    temporal = data.dimensions_of_type(TEMPORAL)
    if dimension is None:
        if not temporal:
            raise DimensionNotAvailable(
                process="filter_temporal",
                parameter="dimension",
                reason="the cube has no temporal dimension.",
            )
        return temporal
    if dimension not in temporal:
        raise DimensionNotAvailable(
            process="filter_temporal",
            parameter="dimension",
            reason=f"no temporal dimension '{dimension}'; temporal dimensions: {temporal}.",
        )
    return [dimension]


def _bands_in(span: Sequence[float], available: Sequence[str]) -> list[str]:
    """The available bands whose centre wavelength lies in [min, max], in the cube's order."""
    if (
        not isinstance(span, Sequence)
        or len(span) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in span)
        or span[0] > span[1]
    ):
        raise _invalid("filter_bands", "wavelengths", f"expected [min, max], got {span!r}")
    low, high = span
    matched = [
        label
        for label in available
        if (wavelength := band_wavelength(label)) is not None and low <= wavelength <= high
    ]
    if not matched:
        reason = f"no band of the cube lies in {low}-{high} µm; available bands: {available}"
        raise _invalid("filter_bands", "wavelengths", reason)
    return matched


def _covered_pixels(
    data: RasterCube, geometries: Sequence[BaseGeometry], process_id: str
) -> xr.DataArray:
    """The (y, x) pixels that geometries in EPSG:4326 cover, on the cube's grid."""
    crs = cube_crs(data, process=process_id)
    return geometry_mask(reproject_geometries(geometries, WGS84, crs), data)


def _nodata(array: xr.DataArray) -> Any:
    """The no-data value of an array: NaN, or false in a boolean raster (which has no null)."""
    return False if array.dtype == bool else np.nan


def _is_true(value: Any) -> bool:
    return isinstance(value, bool | np.bool_) and bool(value)


def _invalid(process_id: str, parameter: str, reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process=process_id, parameter=parameter, reason=reason)
