"""Vector data cubes: geometries with a CRS, their feature properties and optional values.

A `VectorCube` follows the openEO vector data cube model: its first dimension is
`geometry` (of type `geometry`), whose labels are the geometries themselves; further
dimensions (`t`, `bands`, ...) come from the raster cube a process such as
`aggregate_spatial` reduced. GeoJSON arrives in EPSG:4326 (RFC 7946) and keeps it;
`vector_reproject` changes it. Empty geometries (and unlocated GeoJSON Features) keep
their label and hold no-data, as the spec asks.
"""

from collections.abc import Mapping
from typing import Any

import pyproj
from shapely.geometry.base import BaseGeometry

from eoplex_common.errors import ProcessParameterInvalid
from eoplex_executor.engine.cube import EMPTY, VectorCube
from eoplex_executor.geo.geometry import (
    WGS84,
    crs_name,
    geometries_from_geojson,
    reproject_geometries,
)


def geometries_in(cube: VectorCube, crs: Any) -> list[BaseGeometry]:
    """The geometries of a vector cube transformed into `crs`."""
    return reproject_geometries(cube.geometries, cube.crs, crs)


def is_vector_cube(value: Any) -> bool:
    return isinstance(value, VectorCube)


def vector_cube_from_geojson(value: Any, *, process: str, parameter: str) -> VectorCube:
    """A VectorCube (EPSG:4326) of a GeoJSON Geometry, Feature or FeatureCollection: one
    label per Feature (its properties and id kept) or Geometry; members of a top-level
    GeometryCollection become labels of their own (the spec refuses those; older
    clients still send them). Empty and unlocated geometries keep their label.

    Raises ProcessParameterInvalid for invalid GeoJSON or invalid geometries.
    """
    if not isinstance(value, Mapping):
        raise _invalid(process, parameter, "expected GeoJSON or a vector data cube")
    kind = value.get("type")
    if kind == "FeatureCollection":
        features = value.get("features")
        if not isinstance(features, list):
            raise _invalid(process, parameter, "a FeatureCollection needs a list of features")
        if value.get("crs") is not None:
            # geometry.py refuses a legacy `crs` other than WGS 84; a stand-in point carries it.
            stand_in = {"type": "Point", "coordinates": [0, 0], "crs": value["crs"]}
            geometries_from_geojson(stand_in, process=process, parameter=parameter)
    elif kind == "GeometryCollection":
        members = value.get("geometries")
        if not isinstance(members, list):
            raise _invalid(process, parameter, "a GeometryCollection needs a list of geometries")
        features = [{"type": "Feature", "geometry": member} for member in members]
    else:
        features = [value] if kind == "Feature" else [{"type": "Feature", "geometry": value}]
    geometries: list[BaseGeometry] = []
    properties: list[Mapping[str, Any]] = []
    ids: list[Any] = []
    for feature in features:
        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            raise _invalid(process, parameter, "a FeatureCollection holds only Features")
        geometries.append(
            _feature_geometry(feature.get("geometry"), process=process, parameter=parameter)
        )
        properties.append(dict(feature.get("properties") or {}))
        ids.append(feature.get("id"))
    if not geometries:
        raise _invalid(process, parameter, "the GeoJSON holds no geometry")
    return VectorCube(tuple(geometries), crs_name(WGS84), tuple(properties), tuple(ids))


def _feature_geometry(value: Any, *, process: str, parameter: str) -> BaseGeometry:
    """The geometry of a Feature: one (maybe empty: null or without coordinates)."""
    if value is None or _is_empty(value):
        return EMPTY
    if isinstance(value, Mapping) and value.get("type") == "GeometryCollection":
        reason = "a Feature's GeometryCollection is not supported; use a Multi* geometry"
        raise _invalid(process, parameter, reason)
    (geometry,) = geometries_from_geojson(value, process=process, parameter=parameter)
    return geometry


def _is_empty(value: Any) -> bool:
    """Whether a GeoJSON geometry has no coordinates at all (valid in RFC 7946)."""
    if not isinstance(value, Mapping):
        return False
    coordinates = value.get("coordinates")
    return isinstance(coordinates, list) and not coordinates


def as_vector_cube(value: Any, *, process: str, parameter: str) -> VectorCube:
    """`value` itself when it is a VectorCube, else its GeoJSON as one."""
    if isinstance(value, VectorCube):
        return value
    return vector_cube_from_geojson(value, process=process, parameter=parameter)


def wgs84_geometries(value: Any, *, process: str, parameter: str) -> list[BaseGeometry]:
    """The non-empty geometries, in EPSG:4326, of GeoJSON or a VectorCube, for processes
    that only need shapes (filter_spatial, mask_polygon). Raises ProcessParameterInvalid
    for invalid GeoJSON or when there is no non-empty geometry."""
    if not isinstance(value, VectorCube):
        return geometries_from_geojson(value, process=process, parameter=parameter)
    shapes = [geometry for geometry in geometries_in(value, WGS84) if not geometry.is_empty]
    if not shapes:
        raise _invalid(process, parameter, "the vector data cube holds no non-empty geometry")
    return shapes


def crs_units_are_metres(crs: Any) -> bool:
    """Whether every axis of a projected CRS is in metres (vector_buffer's UnitMismatch)."""
    parsed = pyproj.CRS(crs)
    return parsed.is_projected and all(
        axis.unit_name in ("metre", "meter") for axis in parsed.axis_info
    )


def _invalid(process: str, parameter: str, reason: str) -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process=process, parameter=parameter, reason=reason)
