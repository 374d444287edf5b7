"""Every implemented process called with odd arguments: it answers or raises an openEO error.

A process graph with bad input must end in an `OpenEOError` (a 4xx for the user), never
in a Python exception the worker can only report as `Internal`. From a valid base call
per process, one parameter at a time is replaced by an odd value (wrong JSON types,
empty and huge values, impossible dates, a long array, ...). The call must either raise
an `OpenEOError` or return a value of the types the spec's `returns` schema allows (raster
cubes are computed, so errors of lazy dask code surface here too).

Processes whose parameters are JSON values take their base call from the spec's first
example with a result; the others, and the processes of data cubes (a small cube of
`make_cube`, read with `from_parameter`), take one from `BASES`. A cube process sweeps
only its non-cube parameters, with fewer generic values and odd values of its own.
"""

import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from eoplex_common.errors import FileNotFound, OpenEOError
from eoplex_common.process_specs import IMPLEMENTED_PROCESSES, process_spec
from eoplex_executor.engine.cube import RasterCube, VectorCube
from eoplex_executor.engine.environment import Environment
from services.executor.tests.catalog import LocalCatalog, write_s2
from services.executor.tests.cubes import (
    CRS,
    NORTH,
    RESOLUTION,
    TO_WGS84,
    WEST,
    make_cube,
    run_graph,
)
from services.executor.tests.cubes import make_environment as _make_environment
from services.executor.tests.test_spec_examples import _needs_cube, _references
from tests.stac_catalog import write_catalog

# Odd values for every parameter of the processes of JSON values: (name, value).
ODD_VALUES: list[tuple[str, Any]] = [
    ("null", None),
    ("true", True),
    ("false", False),
    ("x", "x"),
    ("empty-string", ""),
    ("empty-array", []),
    ("array-of-null", [None]),
    ("empty-object", {}),
    ("object", {"a": 1}),
    ("zero", 0),
    ("minus-one", -1),
    ("half", 0.5),
    ("max-float", 1e308),
    ("min-float", -1e308),
    ("huge-int", 10**30),
    ("minus-huge-int", -(10**30)),
    ("nested-array", [[1, 2], [3]]),
    ("mixed-array", [1, "a", True, None, [2], {"b": 3}]),
    ("long-array", list(range(10_000))),
    ("bad-date", "2020-13-45"),
    ("bad-datetime", "2020-02-30T25:00:00Z"),
    ("array-of-bad-dates", ["2020-13-45", "2020-02-30T25:00:00Z"]),
    ("huge-int-array", [10**30, -(10**30), 1e308]),
]

# The smaller set for the non-cube parameters of cube processes.
CUBE_ODD_NAMES = {
    "null",
    "true",
    "x",
    "empty-string",
    "empty-array",
    "array-of-null",
    "empty-object",
    "object",
    "zero",
    "minus-one",
    "max-float",
    "huge-int",
    "nested-array",
    "bad-date",
}
CUBE_ODD_VALUES = [(name, value) for name, value in ODD_VALUES if name in CUBE_ODD_NAMES]

# The cube of `make_cube` (EPSG:32632, 5 x 4 pixels of 10 m) as a WGS 84 polygon, and a point.
_EAST, _SOUTH = WEST + 5 * RESOLUTION, NORTH - 4 * RESOLUTION
_CORNERS = [(WEST, _SOUTH), (_EAST, _SOUTH), (_EAST, NORTH), (WEST, NORTH), (WEST, _SOUTH)]
POLYGON = {
    "type": "Polygon",
    "coordinates": [[list(TO_WGS84.transform(x, y)) for x, y in _CORNERS]],
}
POINT = {"type": "Point", "coordinates": list(TO_WGS84.transform(WEST + 15, NORTH - 15))}
FEATURES = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "geometry": POLYGON, "properties": {"name": "a", "value": 1}},
        {"type": "Feature", "geometry": POINT, "properties": {"name": "b", "value": 2}},
    ],
}


def child(process_id: str, **arguments: Any) -> dict[str, Any]:
    """A one-node child process graph."""
    return {
        "process_graph": {
            "node": {"process_id": process_id, "arguments": arguments, "result": True}
        }
    }


# The cubes a base call may read with `from_parameter`.
CUBES = {"cube": make_cube, "one_band": lambda: make_cube(bands=["B04"])}
CUBE = {"from_parameter": "cube"}
MEAN = child("mean", data={"from_parameter": "data"})
ABSOLUTE = child("absolute", x={"from_parameter": "x"})
UDF = """
import xarray

def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    return cube
"""
# For processes whose child process gets a cube as `data`.
APPLY_ABSOLUTE = child("apply", data={"from_parameter": "data"}, process=ABSOLUTE)
IN_METRES = {"from_node": "in_metres"}
NODES_IN_METRES = {
    "in_metres": {
        "process_id": "vector_reproject",
        "arguments": {"data": FEATURES, "projection": 32632},
    }
}

BBOX = {"west": WEST, "south": _SOUTH, "east": WEST + 20, "north": NORTH, "crs": CRS}
BAD_BBOXES: list[tuple[str, Any]] = [
    ("bbox-missing-keys", {"west": WEST, "south": _SOUTH}),
    ("bbox-west-east-swapped", {**BBOX, "west": _EAST, "east": WEST}),
    ("bbox-string-values", {**BBOX, "west": "a"}),
    ("bbox-unknown-crs", {**BBOX, "crs": "EPSG:0"}),
    ("bbox-crs-number", {**BBOX, "crs": 99999999}),
    ("bbox-infinite", {**BBOX, "west": -1e308, "east": 1e308}),
]
BAD_GEOMETRIES: list[tuple[str, Any]] = [
    ("geometry-no-coordinates", {"type": "Polygon"}),
    ("geometry-bad-coordinates", {"type": "Polygon", "coordinates": [[1, 2]]}),
    ("geometry-unknown-type", {"type": "Circle", "coordinates": [0, 0]}),
    ("feature-without-geometry", {"type": "Feature", "properties": {}}),
    ("feature-null-geometry", {"type": "Feature", "geometry": None, "properties": {}}),
    ("features-not-array", {"type": "FeatureCollection", "features": {"a": 1}}),
    ("point-out-of-range", {"type": "Point", "coordinates": [1e308, -1e308]}),
]
BAD_DIMENSIONS: list[tuple[str, Any]] = [("unknown-dimension", "nope")]
BAD_SIZES: list[tuple[str, Any]] = [
    ("size-without-value", [{"dimension": "x", "unit": "px"}]),
    ("size-negative", [{"dimension": "x", "value": -2, "unit": "px"}]),
    ("size-unknown-dimension", [{"dimension": "nope", "value": 2, "unit": "px"}]),
    ("size-unknown-unit", [{"dimension": "x", "value": 2, "unit": "parsec"}]),
    ("size-string", [{"dimension": "x", "value": "2", "unit": "px"}]),
    ("size-huge", [{"dimension": "x", "value": 10**30, "unit": "px"}]),
    ("size-fraction", [{"dimension": "x", "value": 0.5, "unit": "px"}]),
    ("size-not-objects", [2, 2]),
]


class Base:
    """A valid call of a process: its arguments, extra nodes they read, the odd values of its
    own per parameter (tried besides the generic ones) and, for slow processes, the generic
    odd values to try instead of the usual set."""

    def __init__(
        self,
        arguments: dict[str, Any],
        *,
        nodes: dict[str, Any] | None = None,
        extra: dict[str, list[tuple[str, Any]]] | None = None,
        generic: list[tuple[str, Any]] | None = None,
    ) -> None:
        self.arguments = arguments
        self.nodes = nodes or {}
        self.extra = extra or {}
        self.generic = generic


BASES: dict[str, Base] = {
    # JSON processes without a usable example.
    "array_apply": Base({"data": [1, -2, 3], "process": ABSOLUTE}),
    "array_create_labeled": Base({"data": [1, 2], "labels": ["a", "b"]}),
    "array_filter": Base(
        {"data": [1, 2, 3], "condition": child("gt", x={"from_parameter": "x"}, y=1)}
    ),
    "array_find_label": Base({"data": [1, 2], "label": "a"}),
    "array_labels": Base({"data": [1, 2]}),
    "constant": Base({"x": 1}),
    "inspect": Base({"data": 1, "message": "m", "code": "c", "level": "info"}),
    "is_infinite": Base({"x": 1}),
    "is_nan": Base({"x": 1}),
    "normalized_difference": Base({"x": 1, "y": 2}),
    # Vector processes (GeoJSON in, vector cube out).
    "load_geojson": Base({"data": FEATURES, "properties": ["value"]}),
    "filter_vector": Base(
        {"data": FEATURES, "geometries": POLYGON, "relation": "intersects"},
        extra={"relation": [("unknown-relation", "touches-not")]},
    ),
    "vector_buffer": Base({"geometries": IN_METRES, "distance": 5}, nodes=NODES_IN_METRES),
    "vector_reproject": Base(
        {"data": FEATURES, "projection": 32632, "dimension": "geometry"},
        extra={"projection": [("unknown-epsg", 99999999), ("bad-wkt", "PROJCS[nonsense]")]},
    ),
    "vector_to_random_points": Base(
        {"data": IN_METRES, "geometry_count": 2, "total_count": None, "group": True, "seed": 1},
        nodes=NODES_IN_METRES,
    ),
    "vector_to_regular_points": Base(
        {"data": IN_METRES, "distance": 10, "group": True}, nodes=NODES_IN_METRES
    ),
    "load_uploaded_files": Base({"paths": ["a.geojson"], "format": "GeoJSON"}),
    # Loading (a catalog of the fixture / a static STAC catalog in an allowed local root).
    "load_collection": Base(
        {"id": "S2", "spatial_extent": None, "temporal_extent": None, "bands": None},
        extra={
            "spatial_extent": [*BAD_BBOXES, *BAD_GEOMETRIES],
            "temporal_extent": [
                ("extent-reversed", ["2022-06-10", "2022-06-01"]),
                ("extent-bad-dates", ["2020-13-45", "2020-02-30T25:00:00Z"]),
                ("extent-three", ["2022-06-01", "2022-06-05", "2022-06-10"]),
            ],
            "bands": [("unknown-band", ["B99"]), ("band-number", [4])],
        },
        generic=CUBE_ODD_VALUES,
    ),
    "load_stac": Base(
        {"url": "STAC_CATALOG", "spatial_extent": None, "temporal_extent": None},
        extra={
            "spatial_extent": BAD_BBOXES,
            "temporal_extent": [("extent-bad-dates", ["2020-13-45", "2020-02-30T25:00:00Z"])],
            "url": [("relative", "catalog.json"), ("not-a-url", "ht!tp://[")],
        },
        generic=CUBE_ODD_VALUES,
    ),
    # Data-cube processes: the cube `cube` of `make_cube` as `data`.
    "add_dimension": Base(
        {"data": CUBE, "name": "other", "label": "a", "type": "other"},
        extra={"name": [("existing-dimension", "t")], "type": [("unknown-type", "colour")]},
    ),
    "aggregate_spatial": Base(
        {"data": CUBE, "geometries": FEATURES, "reducer": MEAN, "target_dimension": "result"},
        extra={"geometries": BAD_GEOMETRIES, "target_dimension": [("existing", "bands")]},
    ),
    "aggregate_spatial_window": Base(
        {"data": CUBE, "reducer": MEAN, "size": [2, 2], "boundary": "trim", "align": "upper-left"},
        extra={
            "size": [("size-zero", [0, 0]), ("size-negative", [-1, 2]), ("size-three", [1, 2, 3])],
            "boundary": [("unknown-boundary", "wrap")],
            "align": [("unknown-align", "middle")],
        },
    ),
    "aggregate_temporal": Base(
        {
            "data": CUBE,
            "intervals": [["2022-06-01", "2022-06-07"], ["2022-06-07", "2022-06-12"]],
            "reducer": MEAN,
            "labels": ["a", "b"],
            "dimension": "t",
        },
        extra={
            "intervals": [
                ("interval-reversed", [["2022-06-07", "2022-06-01"]]),
                ("interval-bad-dates", [["2020-13-45", "2020-02-30T25:00:00Z"]]),
                ("interval-one-date", [["2022-06-01"]]),
                ("interval-numbers", [[1, 2]]),
            ],
            "labels": [("labels-too-few", ["a"]), ("labels-repeated", ["a", "a"])],
            "dimension": [*BAD_DIMENSIONS, ("not-temporal", "bands")],
        },
    ),
    "aggregate_temporal_period": Base(
        {"data": CUBE, "period": "dekad", "reducer": MEAN, "dimension": "t"},
        extra={"period": [("unknown-period", "fortnight")], "dimension": BAD_DIMENSIONS},
    ),
    "anomaly": Base(
        {"data": CUBE, "normals": {"from_node": "normals"}, "period": "month"},
        nodes={
            "normals": {
                "process_id": "climatological_normal",
                "arguments": {"data": CUBE, "period": "month", "climatology_period": [2022, 2022]},
            }
        },
        extra={"period": [("unknown-period", "fortnight"), ("other-period", "season")]},
    ),
    "apply": Base({"data": CUBE, "process": ABSOLUTE, "context": None}),
    "run_udf": Base(
        {
            "data": CUBE,
            "udf": UDF,
            "runtime": "Python",
        },
        # Every valid call starts the UDF (about a second): a few values of each kind.
        generic=[("null", None), ("x", "x"), ("object", {"a": 1}), ("huge-int", 10**30)],
    ),
    "apply_dimension": Base(
        {
            "data": CUBE,
            "process": child("cumsum", data={"from_parameter": "data"}),
            "dimension": "t",
            "target_dimension": None,
        },
        extra={"dimension": BAD_DIMENSIONS, "target_dimension": [("existing", "bands")]},
    ),
    "apply_kernel": Base(
        {
            "data": CUBE,
            "kernel": [[0, 1, 0], [1, 1, 1], [0, 1, 0]],
            "factor": 1,
            "border": 0,
            "replace_invalid": 0,
        },
        extra={
            "kernel": [
                ("kernel-even", [[1, 1], [1, 1]]),
                ("kernel-ragged", [[1, 1, 1], [1]]),
                ("kernel-strings", [["a", "b", "c"]] * 3),
                ("kernel-huge", [[1] * 101] * 101),
                ("kernel-nulls", [[None] * 3] * 3),
            ],
            "border": [("unknown-border", "wrap-around")],
        },
    ),
    "apply_neighborhood": Base(
        {
            "data": CUBE,
            "process": APPLY_ABSOLUTE,
            "size": [
                {"dimension": "x", "value": 2, "unit": "px"},
                {"dimension": "y", "value": 2, "unit": "px"},
            ],
            "overlap": [],
        },
        extra={"size": BAD_SIZES, "overlap": BAD_SIZES},
    ),
    "apply_polygon": Base(
        {"data": CUBE, "geometries": POLYGON, "process": APPLY_ABSOLUTE, "mask_value": None},
        extra={"geometries": BAD_GEOMETRIES},
    ),
    "climatological_normal": Base(
        {"data": CUBE, "period": "month", "climatology_period": [2022, 2022]},
        extra={
            "period": [("unknown-period", "fortnight")],
            "climatology_period": [
                ("years-reversed", [2022, 2020]),
                ("years-strings", ["2022", "abc"]),
                ("years-fraction", [2022.5, 2022.5]),
                ("years-huge", [10**30, 10**30]),
                ("years-three", [2020, 2021, 2022]),
            ],
        },
    ),
    "dimension_labels": Base({"data": CUBE, "dimension": "t"}, extra={"dimension": BAD_DIMENSIONS}),
    "drop_dimension": Base(
        {"data": {"from_parameter": "one_band"}, "name": "bands"},
        extra={"name": [*BAD_DIMENSIONS, ("several-labels", "t")]},
    ),
    "filter_bands": Base(
        {"data": CUBE, "bands": ["B04"], "wavelengths": None},
        extra={
            "bands": [("unknown-band", ["B99"]), ("band-number", [4])],
            "wavelengths": [("wavelengths-flat", [0.6, 0.7]), ("wavelengths-reversed", [[2, 1]])],
        },
    ),
    "filter_bbox": Base({"data": CUBE, "extent": BBOX}, extra={"extent": BAD_BBOXES}),
    "filter_labels": Base(
        {
            "data": CUBE,
            "condition": child("eq", x={"from_parameter": "value"}, y="B04"),
            "dimension": "bands",
            "context": None,
        },
        extra={"dimension": BAD_DIMENSIONS},
    ),
    "filter_spatial": Base(
        {"data": CUBE, "geometries": POLYGON}, extra={"geometries": BAD_GEOMETRIES}
    ),
    "filter_temporal": Base(
        {"data": CUBE, "extent": ["2022-06-01", "2022-06-07"], "dimension": "t"},
        extra={
            "extent": [
                ("extent-reversed", ["2022-06-10", "2022-06-01"]),
                ("extent-bad-dates", ["2020-13-45", "2020-02-30T25:00:00Z"]),
                ("extent-open", [None, None]),
                ("extent-numbers", [1, 2]),
            ],
            "dimension": [*BAD_DIMENSIONS, ("not-temporal", "bands")],
        },
    ),
    "flatten_dimensions": Base(
        {"data": CUBE, "dimensions": ["t", "bands"], "target_dimension": "tb"},
        extra={
            "dimensions": [("unknown", ["t", "nope"]), ("repeated", ["t", "t"])],
            "target_dimension": [("existing", "x")],
        },
    ),
    "mask": Base(
        {"data": CUBE, "mask": {"from_node": "mask"}, "replacement": 0},
        nodes={
            "mask": {
                "process_id": "apply",
                "arguments": {
                    "data": CUBE,
                    "process": child("gt", x={"from_parameter": "x"}, y=1500),
                },
            }
        },
    ),
    "mask_polygon": Base(
        {"data": CUBE, "mask": POLYGON, "replacement": None, "inside": False},
        extra={"mask": BAD_GEOMETRIES},
    ),
    "merge_cubes": Base(
        {
            "cube1": CUBE,
            "cube2": CUBE,
            "overlap_resolver": child("add", x={"from_parameter": "x"}, y={"from_parameter": "y"}),
        }
    ),
    "ndvi": Base(
        {"data": CUBE, "nir": "B08", "red": "B04", "target_band": None},
        extra={"nir": [("unknown-band", "B99")], "target_band": [("existing", "B04")]},
    ),
    "reduce_dimension": Base(
        {"data": CUBE, "reducer": MEAN, "dimension": "t"}, extra={"dimension": BAD_DIMENSIONS}
    ),
    "reduce_spatial": Base({"data": CUBE, "reducer": MEAN}),
    "rename_dimension": Base(
        {"data": CUBE, "source": "t", "target": "time"},
        extra={"source": BAD_DIMENSIONS, "target": [("existing", "bands")]},
    ),
    "rename_labels": Base(
        {"data": CUBE, "dimension": "bands", "target": ["red", "nir"], "source": ["B04", "B08"]},
        extra={
            "dimension": BAD_DIMENSIONS,
            "target": [("too-few", ["red"]), ("repeated", ["a", "a"])],
            "source": [("unknown-labels", ["B01", "B02"])],
        },
    ),
    "resample_cube_spatial": Base(
        {"data": CUBE, "target": {"from_parameter": "one_band"}, "method": "near"},
        extra={"method": [("unknown-method", "magic")]},
    ),
    "resample_cube_temporal": Base(
        {"data": CUBE, "target": CUBE, "dimension": "t", "valid_within": None},
        extra={"dimension": BAD_DIMENSIONS, "valid_within": [("negative", -5)]},
    ),
    "resample_spatial": Base(
        {"data": CUBE, "resolution": 20, "projection": None, "method": "near"},
        extra={
            "resolution": [
                ("negative-resolution", -10),
                ("tiny-resolution", 1e-300),
                ("resolution-pair-negative", [-10, 10]),
                ("resolution-three", [10, 10, 10]),
            ],
            "projection": [("unknown-epsg", 99999999), ("bad-wkt", "PROJCS[nonsense]")],
            "method": [("unknown-method", "magic")],
            "align": [("unknown-align", "middle")],
        },
    ),
    "save_result": Base(
        {"data": CUBE, "format": "GTiff", "options": {}},
        extra={
            "format": [("unknown-format", "BMP")],
            "options": [("unknown-option", {"nope": 1}), ("bad-datatype", {"datatype": "int128"})],
        },
    ),
    "trim_cube": Base({"data": CUBE}),
    "unflatten_dimension": Base(
        {
            "data": {"from_node": "flat"},
            "dimension": "tb",
            "target_dimensions": ["t", "bands"],
            "label_separator": "~",
        },
        nodes={
            "flat": {
                "process_id": "flatten_dimensions",
                "arguments": {
                    "data": CUBE,
                    "dimensions": ["t", "bands"],
                    "target_dimension": "tb",
                    "label_separator": "~",
                },
            }
        },
        extra={
            "dimension": BAD_DIMENSIONS,
            "target_dimensions": [("one", ["t"]), ("existing", ["x", "y"])],
            "label_separator": [("absent-separator", "|")],
        },
    ),
}


def _cube_parameters(process_id: str) -> set[str]:
    """Parameters whose base value is a cube (a parameter or node reference): not swept."""
    base = BASES.get(process_id)
    if base is None:
        return set()
    return {name for name, value in base.arguments.items() if _references(value)}


def _example_base(process_id: str) -> Base | None:
    spec = process_spec(process_id) or {}
    for example in spec.get("examples", []):
        arguments = example.get("arguments", {})
        if "returns" in example and not _references(arguments):
            return Base(arguments)
    return None


def _base(process_id: str) -> Base | None:
    return BASES.get(process_id) or _example_base(process_id)


def _is_cube_process(process_id: str) -> bool:
    """A process swept with the cube set of odd values (it reads a raster cube)."""
    return _needs_cube(process_id) and bool(_cube_parameters(process_id) - {"geometries"})


def _cases() -> list[Any]:
    cases = []
    for process_id in sorted(IMPLEMENTED_PROCESSES):
        base = _base(process_id)
        if base is None:
            continue
        spec = process_spec(process_id) or {}
        generic = base.generic or (CUBE_ODD_VALUES if _is_cube_process(process_id) else ODD_VALUES)
        cases.append(pytest.param(process_id, None, None, None, id=f"{process_id}-base"))
        for parameter in spec.get("parameters", []):
            name = parameter["name"]
            if name in _cube_parameters(process_id):
                continue
            for label, value in [*generic, *base.extra.get(name, [])]:
                cases.append(
                    pytest.param(process_id, name, label, value, id=f"{process_id}-{name}-{label}")
                )
    return cases


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> LocalCatalog:
    """Two dates of B04 and B08, 8 x 8 uint16 pixels, for load_collection."""
    folder = tmp_path_factory.mktemp("sweep-s2")
    sevens = np.full((8, 8), 7, dtype=np.uint16)
    dates, bands = ("20220601", "20220606"), ("B04", "B08")
    return write_s2(folder, {(date, band): sevens for date in dates for band in bands})


@pytest.fixture(scope="module")
def stac_catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A static STAC catalog in a local root load_stac may read, for the whole module."""
    folder = write_catalog(tmp_path_factory.mktemp("sweep-stac")).folder
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OPENEO_EXECUTOR_STAC_LOCAL_ROOTS", str(folder))
        yield folder / "catalog.json"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One scratch folder for the module: a fresh one per case costs more than the case."""
    return tmp_path_factory.mktemp("sweep-scratch")


@pytest.fixture
def env(scratch: Path, catalog: LocalCatalog, stac_catalog: Path) -> Environment:
    return _make_environment(scratch, catalog=catalog, max_pixels=10_000_000)


def _jsonable(value: Any) -> Any:
    """A result as JSON values (numpy scalars as Python ones); anything else stays as it is,
    so the schema check fails on it."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


# Results the spec's `returns` schema does not describe, asserted exactly instead.
EXPECTED: dict[str, Any] = {
    # openEO processes 1.x returned true; 2.0.0-rc.2 returns a STAC resource, which eoplex
    # does not build (save_result's files are the job's results, not its return value).
    "save_result": True,
}
# Base calls that cannot succeed here: there is no user workspace to hold the file.
BASE_ERRORS: dict[str, type[OpenEOError]] = {"load_uploaded_files": FileNotFound}
# Odd arguments that are valid input, with their correct results.
VALID_ODD: dict[tuple[str, str, str], Any] = {
    # Defined by the spec as subtract(x, y) / add(x, y), both of which give null for null.
    ("normalized_difference", "x", "null"): None,
    ("normalized_difference", "y", "null"): None,
    # (-1 - 2) / (-1 + 2): the range [-1, 1] of the spec holds for non-negative inputs only.
    ("normalized_difference", "x", "minus-one"): -3.0,
}


def _check_result(process_id: str, result: Any) -> None:
    if isinstance(result, RasterCube):
        np.asarray(result.data.values)
        return
    if isinstance(result, VectorCube):
        return
    if process_id in EXPECTED:
        assert result is EXPECTED[process_id] or result == EXPECTED[process_id]
        return
    schema = (process_spec(process_id) or {}).get("returns", {}).get("schema", {})
    schemas = schema if isinstance(schema, list) else [schema]
    document = _jsonable(result)
    assert _is_json(document), f"{process_id} returned {type(result).__name__}: {result!r:.200}"
    problems = [_type_problem(document, item) for item in schemas]
    assert None in problems, f"{process_id} returned {result!r:.200}: {problems}"


def _is_json(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | float | str):
        return True  # NaN and infinities are numbers to the processes (null in JSON output)
    if isinstance(value, list):
        return all(_is_json(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_json(item) for key, item in value.items())
    return False


# What `_type_problem` reads of a schema: the JSON types, also of items and properties.
TYPE_KEYWORDS = {"type", "items", "properties", "required", "anyOf", "oneOf", "allOf"}


def _types_only(schema: Any) -> Any:
    """The schema without value constraints (ranges, formats, lengths, ...)."""
    if isinstance(schema, list):
        return [_types_only(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    kept = {key: value for key, value in schema.items() if key in TYPE_KEYWORDS}
    if isinstance(kept.get("properties"), Mapping):
        kept["properties"] = {key: _types_only(item) for key, item in kept["properties"].items()}
    return {
        key: _types_only(value) if key != "properties" else value for key, value in kept.items()
    }


def _type_problem(document: Any, schema: Mapping[str, Any]) -> str | None:
    """Why `document` does not have the JSON types of the schema (values unchecked: a range
    such as normalized_difference's [-1, 1] holds for typical inputs only)."""
    try:
        jsonschema.validate(document, _types_only(schema), cls=jsonschema.Draft7Validator)
    except jsonschema.ValidationError as error:
        return error.message[:200]
    return None


@pytest.mark.parametrize(("process_id", "parameter", "label", "value"), _cases())
def test_odd_argument_gives_a_result_or_an_openeo_error(
    process_id: str,
    parameter: str | None,
    label: str | None,
    value: Any,
    env: Environment,
    stac_catalog: Path,
) -> None:
    base = _base(process_id)
    assert base is not None
    arguments = copy.deepcopy(base.arguments)
    if arguments.get("url") == "STAC_CATALOG":
        arguments["url"] = str(stac_catalog)
    if parameter is not None:
        arguments[parameter] = copy.deepcopy(value)
    graph = {
        **copy.deepcopy(base.nodes),
        "node": {"process_id": process_id, "arguments": arguments, "result": True},
    }
    read = repr((base.arguments, base.nodes))
    cubes = {name: make() for name, make in CUBES.items() if repr({"from_parameter": name}) in read}
    try:
        result = run_graph(graph, env, **cubes)
    except OpenEOError as error:
        if parameter is None and isinstance(error, BASE_ERRORS.get(process_id, ())):
            return
        if parameter is None or (process_id, parameter, label) in VALID_ODD:
            raise
        return
    assert parameter is not None or process_id not in BASE_ERRORS
    if (process_id, parameter, label) in VALID_ODD:
        assert result == VALID_ODD[(process_id, parameter, label)] or (
            result is VALID_ODD[(process_id, parameter, label)]
        )
        return
    _check_result(process_id, result)


def test_every_process_with_parameters_is_swept() -> None:
    unswept = {
        process_id
        for process_id in IMPLEMENTED_PROCESSES
        if (process_spec(process_id) or {}).get("parameters") and _base(process_id) is None
    }
    assert unswept == set()


@pytest.mark.parametrize(
    ("result", "process_id", "fits"),
    [
        (True, "gt", True),
        (1, "gt", False),
        (None, "gt", True),
        ("1", "add", False),
        (float("inf"), "cosh", True),
        ("1", "array_find", False),
        (object(), "inspect", False),
    ],
)
def test_result_check_can_fail(result: Any, process_id: str, fits: bool) -> None:
    if fits:
        _check_result(process_id, result)
    else:
        with pytest.raises(AssertionError):
            _check_result(process_id, result)
