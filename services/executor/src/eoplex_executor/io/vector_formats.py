"""The files of vector data cubes: GeoJSON, CSV, GeoParquet and the JSON document.

Values are computed once per file. A vector cube's values have the dimensions
(geometry, ...); the formats that hold one row per geometry (GeoJSON, Parquet) turn
every combination of the other labels into a column named by those labels joined by
spaces, as the GTiff writer describes its bands (`2022-06-01T00:00:00Z B04`), or
`value` when there is no other dimension. CSV holds one row per geometry and
combination of labels instead (a long table), which spreadsheets and pandas pivot
easily. These writers know nothing of save_result's options or of ResultFile; they
write one file where they are told.

Every file says in which CRS its coordinates are: GeoJSON and the JSON document's
`geometries` are in WGS 84 (RFC 7946, longitude before latitude), which the document's
`crs` names; CSV and Parquet keep the cube's CRS, named in CSV's `crs` column and in
Parquet's `geo` metadata.
"""

import csv
import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from eoplex_executor.engine.cube import (
    GEOMETRY,
    OTHER,
    TEMPORAL,
    VectorCube,
    format_datetime,
    label_values,
)
from eoplex_executor.geo.geometry import WGS84, crs_name
from eoplex_executor.geo.vector import geometries_in

VALUE_COLUMN = "value"
GEOPARQUET_VERSION = "1.1.0"


def value_table(cube: VectorCube) -> tuple[list[str], list[list[Any]], np.ndarray]:
    """(column names, the label tuple of each column, values (geometry, column)) of the cube;
    no columns when it has no values. Values are computed here."""
    if cube.values is None:
        return [], [], np.empty((len(cube), 0))
    dims = cube.value_dims
    labels = [_labels(cube, dim) for dim in dims]
    combinations = [list(combination) for combination in itertools.product(*labels)]
    names = [" ".join(str(label) for label in combination) for combination in combinations]
    values = np.asarray(cube.values.transpose(GEOMETRY, *dims).compute(scheduler="threads"))
    return names or [VALUE_COLUMN], combinations, values.reshape(len(cube), -1)


def write_geojson(cube: VectorCube, path: Path) -> None:
    """A FeatureCollection (EPSG:4326, as RFC 7946 requires): one Feature per geometry, its
    id and properties kept, its values added as properties (values win on a name clash)."""
    names, _, values = value_table(cube)
    features = []
    for index, geometry in enumerate(_in_wgs84(cube)):
        properties = {**_jsonable(dict(cube.properties[index]))}
        properties.update(
            {name: _json_value(value) for name, value in zip(names, values[index], strict=True)}
        )
        feature: dict[str, Any] = {
            "type": "Feature",
            "geometry": None if geometry.is_empty else shapely.geometry.mapping(geometry),
            "properties": properties,
        }
        if cube.ids[index] is not None:
            feature["id"] = cube.ids[index]
        features.append(feature)
    document = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(document, allow_nan=False))


def write_csv(cube: VectorCube, path: Path) -> None:
    """One row per geometry and combination of the other labels: `feature` (the Feature id,
    else the geometry's position from 0), a column per other dimension holding its label,
    `value`, `geometry` as WKT in the cube's CRS and `crs` naming that CRS (`EPSG:n`, else
    WKT). No-data is an empty cell; feature properties are left to GeoJSON and Parquet."""
    _, combinations, values = value_table(cube)
    dims = list(cube.value_dims)
    crs = crs_name(pyproj.CRS(cube.crs))
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        value = [VALUE_COLUMN] if cube.values is not None else []
        writer.writerow(["feature", *dims, *value, "geometry", "crs"])
        for index, geometry in enumerate(cube.geometries):
            feature = cube.ids[index] if cube.ids[index] is not None else index
            wkt = "" if geometry.is_empty else shapely.to_wkt(geometry, rounding_precision=-1)
            rows = combinations if cube.values is not None else [[]]
            for column, combination in enumerate(rows):
                cells = [*combination]
                if cube.values is not None:
                    cells.append(_csv_value(values[index, column]))
                writer.writerow([feature, *cells, wkt, crs])


def write_parquet(cube: VectorCube, path: Path) -> None:
    """GeoParquet 1.1: the Feature ids (`id`, if any), the properties, the value columns
    and `geometry` as WKB in the cube's CRS, described by the `geo` file metadata."""
    names, _, values = value_table(cube)
    columns: dict[str, pa.Array] = {}
    if any(feature_id is not None for feature_id in cube.ids):
        columns["id"] = _arrow_column([*cube.ids])
    keys = dict.fromkeys(key for properties in cube.properties for key in properties)
    for key in keys:
        columns[str(key)] = _arrow_column([properties.get(key) for properties in cube.properties])
    for position, name in enumerate(names):
        columns[name] = _arrow_column(values[:, position].tolist())
    geometries = np.asarray(cube.geometries, dtype=object)
    wkb = [None if g.is_empty else shapely.to_wkb(g) for g in cube.geometries]
    columns["geometry"] = pa.array(wkb, type=pa.binary())
    table = pa.table(columns)
    present = geometries[~shapely.is_empty(geometries)] if len(geometries) else geometries
    geo = {
        "version": GEOPARQUET_VERSION,
        "primary_column": "geometry",
        "columns": {
            "geometry": {
                "encoding": "WKB",
                "geometry_types": sorted({g.geom_type for g in present}),
                "crs": pyproj.CRS(cube.crs).to_json_dict(),
                **({"bbox": list(shapely.total_bounds(present))} if len(present) else {}),
            }
        },
    }
    table = table.replace_schema_metadata({b"geo": json.dumps(geo).encode()})
    pq.write_table(table, path)


def vector_document(cube: VectorCube) -> dict[str, Any]:
    """The JSON document of a vector cube, shaped like a raster cube's: `dimensions` (the
    `geometry` dimension labelled 0..n-1, indexing `geometries`), `crs` (of the geometries as
    written: WGS 84), `geometries` (a GeoJSON FeatureCollection without values) and `data`
    nested as the dimensions are."""
    dimensions: dict[str, Any] = {GEOMETRY: {"type": GEOMETRY, "labels": list(range(len(cube)))}}
    for dim in cube.value_dims:
        dimensions[dim] = {
            "type": cube.dimension_types.get(dim, OTHER),
            "labels": _labels(cube, dim),
        }
    data = None
    if cube.values is not None:
        values = np.asarray(cube.values.compute(scheduler="threads"))
        data = _nested(values)
    features = []
    for index, geometry in enumerate(_in_wgs84(cube)):
        feature = {
            "type": "Feature",
            "geometry": None if geometry.is_empty else shapely.geometry.mapping(geometry),
            "properties": _jsonable(dict(cube.properties[index])),
        }
        if cube.ids[index] is not None:
            feature["id"] = cube.ids[index]
        features.append(feature)
    return {
        "dimensions": dimensions,
        "crs": crs_name(WGS84),
        "geometries": {"type": "FeatureCollection", "features": features},
        "data": data,
    }


def timeseries_dimensions(cube: VectorCube) -> tuple[str, str | None] | None:
    """(the temporal dimension, the other one or None) of a time series: a vector cube whose
    values have a temporal dimension and at most one more besides `geometry`; else None."""
    dims = cube.value_dims
    temporal = [dim for dim in dims if cube.dimension_types.get(dim) == TEMPORAL]
    if len(temporal) != 1 or len(dims) > 2:
        return None
    other = [dim for dim in dims if dim != temporal[0]]
    return temporal[0], other[0] if other else None


def timeseries_document(cube: VectorCube) -> dict[str, Any]:
    """A time series as the openEO clients read it (`timeseries_json_to_pandas` of the
    Python client): `{date: [[value per band] per geometry]}`, dates as RFC 3339 strings in
    label order, geometries in label order, bands in label order (one value without bands)."""
    found = timeseries_dimensions(cube)
    assert found is not None and cube.values is not None
    time, bands = found
    values = cube.values.transpose(time, GEOMETRY, *([bands] if bands else []))
    nested = _nested(np.asarray(values.compute(scheduler="threads")))
    dates = [str(label) for label in _labels(cube, time)]
    if bands is None:
        nested = [[[value] for value in geometries] for geometries in nested]
    return dict(zip(dates, nested, strict=True))


def _labels(cube: VectorCube, dim: str) -> list[Any]:
    assert cube.values is not None
    if dim in cube.values.coords:
        return label_values(cube.values.coords[dim].values)
    return list(range(cube.values.sizes[dim]))


def _in_wgs84(cube: VectorCube) -> list[BaseGeometry]:
    return geometries_in(cube, WGS84)


def _nested(values: np.ndarray) -> Any:
    if values.dtype.kind == "M":
        return np.vectorize(format_datetime, otypes=[object])(values).tolist()
    objects = values.astype(object)
    if values.dtype.kind == "f":
        objects[~np.isfinite(values)] = None
    return _jsonable(objects.tolist())


def _json_value(value: Any) -> Any:
    """A value as JSON: NaN and infinities as null, numpy scalars as Python values."""
    if isinstance(value, np.datetime64):
        return format_datetime(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return _json_value(value)


def _csv_value(value: Any) -> Any:
    converted = _json_value(value)
    return "" if converted is None else converted


def _arrow_column(values: list[Any]) -> pa.Array:
    """A column of plain values; mixed types (which Arrow cannot type) as JSON text."""
    plain = [_json_value(value) for value in values]
    try:
        return pa.array(plain)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if value is None else json.dumps(value) for value in plain])
