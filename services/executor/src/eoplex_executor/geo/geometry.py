"""Geometries of process arguments: CRSs, bounding boxes, GeoJSON, and their rasterization.

openEO bounding boxes carry their own CRS (an EPSG code or WKT, EPSG:4326 by default);
GeoJSON is always EPSG:4326 (RFC 7946). Processes bring both into the CRS of the cube
they work on. A cube's grid is given by its `x`/`y` coordinates, the pixel centres of a
regular grid. Every invalid input raises ProcessParameterInvalid of the calling process
and parameter, which is why the functions take them as keyword arguments.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyproj
import rasterio.features
import shapely
import xarray as xr
from pyproj.exceptions import CRSError
from rasterio.transform import Affine
from shapely.geometry.base import BaseGeometry

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.cube import RasterCube

WGS84 = pyproj.CRS.from_epsg(4326)
GEOMETRY_TYPES = frozenset(
    {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}
)
# Points along each edge of a box when reprojecting it, since edges bend in the target CRS.
DENSIFY_POINTS = 21

Bounds = tuple[float, float, float, float]


def parse_crs(value: Any, *, process: str, parameter: str) -> pyproj.CRS:
    """The CRS of an openEO EPSG code (int) or WKT / PROJ / `EPSG:n` string.

    Raises ProcessParameterInvalid when `value` names no CRS.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _invalid(process, parameter, f"{value!r} is neither an EPSG code nor a WKT string")
    try:
        return pyproj.CRS.from_epsg(value) if isinstance(value, int) else pyproj.CRS(value)
    except CRSError as error:
        raise _invalid(process, parameter, f"unknown CRS {value!r}: {error}") from error


def crs_name(crs: pyproj.CRS) -> str:
    """`EPSG:n` when the CRS has an EPSG code, else its WKT: the form `RasterCube.crs` holds."""
    code = crs.to_epsg()
    return f"EPSG:{code}" if code is not None else crs.to_wkt()


def cube_crs(cube: RasterCube, *, process: str, parameter: str = "data") -> pyproj.CRS:
    """The CRS of a cube's spatial dimensions; ProcessParameterInvalid without one."""
    if cube.crs is None or "x" not in cube.dims or "y" not in cube.dims:
        raise _invalid(process, parameter, "the cube has no spatial dimensions x and y with a CRS")
    return pyproj.CRS(cube.crs)


def bbox_in_crs(extent: Mapping[str, Any], crs: Any, *, process: str, parameter: str) -> Bounds:
    """(minx, miny, maxx, maxy) in `crs` of an openEO bounding box `{west, south, east, north,
    crs}` (crs: EPSG code or WKT, default 4326), its edges densified before reprojection.

    Raises ProcessParameterInvalid for a malformed or inverted box or an unknown CRS.
    """
    if not isinstance(extent, Mapping):
        raise _invalid(process, parameter, "a bounding box must be an object")
    corners = [extent.get(key) for key in ("west", "south", "east", "north")]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in corners):
        raise _invalid(process, parameter, "west, south, east and north must be numbers")
    west, south, east, north = (float(v) for v in corners)  # type: ignore[arg-type]
    if not all(np.isfinite([west, south, east, north])) or west > east or south > north:
        raise _invalid(process, parameter, "the box needs finite west <= east, south <= north")
    source = parse_crs(extent.get("crs") or 4326, process=process, parameter=parameter)
    target = crs if isinstance(crs, pyproj.CRS) else pyproj.CRS(crs)
    if source == target:
        return west, south, east, north
    transformer = pyproj.Transformer.from_crs(source, target, always_xy=True)
    bounds = transformer.transform_bounds(west, south, east, north, densify_pts=DENSIFY_POINTS)
    if not all(np.isfinite(bounds)):
        raise _invalid(process, parameter, f"the box has no extent in {crs_name(target)}")
    return bounds


def geometries_from_geojson(value: Any, *, process: str, parameter: str) -> list[BaseGeometry]:
    """The non-empty geometries (EPSG:4326) of a GeoJSON Geometry, GeometryCollection, Feature
    or FeatureCollection; members of a GeometryCollection come out one by one.

    Raises ProcessParameterInvalid for invalid GeoJSON, invalid (e.g. self-intersecting)
    geometries, a legacy `crs` member other than WGS 84, or no geometry at all.
    """
    if not isinstance(value, Mapping):
        raise _invalid(process, parameter, "expected a GeoJSON object")
    _check_legacy_crs(value, process=process, parameter=parameter)
    geometries = [
        geometry
        for geometry in _geojson_geometries(value, process=process, parameter=parameter)
        if not geometry.is_empty
    ]
    if not geometries:
        raise _invalid(process, parameter, "the GeoJSON holds no non-empty geometry")
    return geometries


def _geojson_geometries(value: Any, *, process: str, parameter: str) -> list[BaseGeometry]:
    kind = value.get("type") if isinstance(value, Mapping) else None
    if kind == "FeatureCollection" and isinstance(value.get("features"), list):
        return [
            geometry
            for feature in value["features"]
            for geometry in _feature_geometries(feature, process=process, parameter=parameter)
        ]
    if kind == "Feature":
        return _feature_geometries(value, process=process, parameter=parameter)
    if kind == "GeometryCollection" and isinstance(value.get("geometries"), list):
        return [
            geometry
            for member in value["geometries"]
            for geometry in _geojson_geometries(member, process=process, parameter=parameter)
        ]
    if kind in GEOMETRY_TYPES:
        return [_geometry(value, process=process, parameter=parameter)]
    raise _invalid(process, parameter, f"invalid GeoJSON object of type {kind!r}")


def _feature_geometries(feature: Any, *, process: str, parameter: str) -> list[BaseGeometry]:
    if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
        raise _invalid(process, parameter, "a FeatureCollection holds only Features")
    if feature.get("geometry") is None:  # RFC 7946 allows unlocated features
        return []
    return _geojson_geometries(feature["geometry"], process=process, parameter=parameter)


def _geometry(value: Mapping[str, Any], *, process: str, parameter: str) -> BaseGeometry:
    try:
        geometry = shapely.geometry.shape(value)
        valid = bool(shapely.is_valid(geometry)) and bool(
            np.isfinite(shapely.get_coordinates(geometry)).all()
        )
    except (KeyError, TypeError, ValueError, shapely.errors.ShapelyError) as error:
        raise _invalid(process, parameter, f"invalid GeoJSON {value['type']}: {error}") from error
    if not valid:
        reason = shapely.is_valid_reason(geometry)
        raise _invalid(process, parameter, f"invalid {value['type']}: {reason}")
    return geometry


def _check_legacy_crs(value: Mapping[str, Any], *, process: str, parameter: str) -> None:
    """Refuse a pre-RFC 7946 `crs` member naming another CRS rather than misplace the data."""
    legacy = value.get("crs")
    if legacy is None:
        return
    name = legacy.get("properties", {}).get("name") if isinstance(legacy, Mapping) else None
    try:
        crs = pyproj.CRS(name)
    except CRSError as error:
        raise _invalid(process, parameter, f"unknown GeoJSON crs {legacy!r}") from error
    if not crs.equals(WGS84, ignore_axis_order=True):
        raise _invalid(process, parameter, "GeoJSON must be in WGS 84 (RFC 7946)")


def reproject_geometries(
    geometries: Sequence[BaseGeometry], from_crs: Any, to_crs: Any
) -> list[BaseGeometry]:
    """The geometries transformed from `from_crs` to `to_crs` (x/y = lon/lat order)."""
    source, target = pyproj.CRS(from_crs), pyproj.CRS(to_crs)
    if source == target:
        return list(geometries)
    transformer = pyproj.Transformer.from_crs(source, target, always_xy=True)
    transformed = shapely.transform(
        np.asarray(geometries, dtype=object),
        lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])),
    )
    return list(transformed)


def grid_transform(x: np.ndarray, y: np.ndarray) -> Affine:
    """The affine transform of the regular grid whose pixel centres are `x` and `y`.

    An axis of one pixel has no spacing of its own; it takes the other axis' pixel size
    (square pixels), or 1 CRS unit for a single pixel, where only its centre matters.
    """
    step_x = float(x[1] - x[0]) if len(x) > 1 else None
    step_y = float(y[1] - y[0]) if len(y) > 1 else None
    step_x = step_x if step_x is not None else abs(step_y) if step_y is not None else 1.0
    step_y = step_y if step_y is not None else -abs(step_x)
    return Affine(step_x, 0.0, float(x[0]) - step_x / 2, 0.0, step_y, float(y[0]) - step_y / 2)


def geometry_mask(geometries: Sequence[BaseGeometry], cube: RasterCube) -> xr.DataArray:
    """A boolean (y, x) array, True for the pixels the geometries (in the cube's CRS) cover:
    pixel centres inside polygons, pixels that points and lines pass through (GDAL's rule)."""
    x, y = cube.data.coords["x"].values, cube.data.coords["y"].values
    inside = rasterio.features.geometry_mask(
        geometries,
        out_shape=(len(y), len(x)),
        transform=grid_transform(x, y),
        all_touched=False,
        invert=True,
    )
    return xr.DataArray(inside, dims=("y", "x"), coords={"y": y, "x": x})


def _invalid(process: str, parameter: str, reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process=process, parameter=parameter, reason=reason)
