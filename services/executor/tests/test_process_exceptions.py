"""Every exception a process specification declares and the executor raises as itself is
raised, with the spec's name as its code and the message of the process that raises it,
by a process graph run the way synchronous requests and batch jobs run theirs (validated,
executed, saved).

The cases are checked against the specifications: an exception class added to
`eoplex_common.errors` without a case here fails, and so does a case whose process does not
declare the exception it expects.
"""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from eoplex_common.errors import ERRORS, OpenEOError, ProcessException
from eoplex_common.process_specs import implemented_process_specs
from eoplex_executor.engine.run import run_process
from services.executor.tests.catalog import write_s2
from services.executor.tests.cubes import NORTH, RESOLUTION, TO_WGS84, WEST, make_environment

SIZE = 4


def declaring_processes() -> dict[str, dict[str, str]]:
    """Exception name -> the implemented processes whose specification declares it -> the
    message it declares."""
    declared: dict[str, dict[str, str]] = {}
    for spec in implemented_process_specs():
        for name, exception in (spec.get("exceptions") or {}).items():
            declared.setdefault(name, {})[spec["id"]] = exception["message"]
    return declared


DECLARED = declaring_processes()
RAISED = sorted(
    code for code, cls in ERRORS.items() if issubclass(cls, ProcessException) and code in DECLARED
)


def node(process_id: str, **arguments: Any) -> dict[str, Any]:
    return {"process_id": process_id, "arguments": arguments}


def ref(node_id: str) -> dict[str, str]:
    return {"from_node": node_id}


def child(process_id: str, **arguments: Any) -> dict[str, Any]:
    """A child process graph of one node."""
    return {"process_graph": {"c": {**node(process_id, **arguments), "result": True}}}


def load_s2(temporal_extent: list[str] | None) -> dict[str, Any]:
    return node("load_collection", id="S2", spatial_extent=None, temporal_extent=temporal_extent)


DATA = {"from_parameter": "data"}
LOAD = load_s2(None)
MEAN = child("mean", data=DATA)
NO_BANDS = node("reduce_dimension", data=ref("load"), dimension="bands", reducer=MEAN)


def labeled(data: list[Any], labels: list[Any]) -> dict[str, Any]:
    return node("array_create_labeled", data=data, labels=labels)


def square(west: float, north: float, side: float) -> list[list[float]]:
    """A square in WGS84 with its top left corner at (west, north) of the cubes' UTM grid."""
    corners = [(west, north), (west + side, north), (west + side, north - side)]
    corners += [(west, north - side), (west, north)]
    return [list(TO_WGS84.transform(x, y)) for x, y in corners]


def polygons(*rings: list[list[float]]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [r]},
            }
            for r in rings
        ],
    }


FIELD = square(WEST, NORTH, 3 * RESOLUTION)
OVERLAPPING = polygons(FIELD, square(WEST + RESOLUTION, NORTH - RESOLUTION, 3 * RESOLUTION))
TWO_FIELDS = polygons(FIELD, square(WEST + 2 * RESOLUTION, NORTH, RESOLUTION))
UDF = "def apply_datacube(cube, context):\n    return cube\n"

# Exception name -> (the process that raises it, the nodes of a graph whose node "x" does).
# Graphs may use the node "load": load_collection of S2 (bands B04 and B08, dates 2022-06-01
# and 2022-06-06, 4 x 4 pixels).
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "NoDataAvailable": (
        "load_collection",
        {"x": load_s2(["2030-01-01", "2030-02-01"])},
    ),
    "DimensionNotAvailable": (
        "reduce_dimension",
        {"x": node("reduce_dimension", data=ref("load"), dimension="z", reducer=MEAN)},
    ),
    "TooManyDimensions": (
        "aggregate_temporal_period",
        {
            "t2": node("add_dimension", data=ref("load"), name="t2", label="2022", type="temporal"),
            "x": node("aggregate_temporal_period", data=ref("t2"), period="month", reducer=MEAN),
        },
    ),
    "TemporalExtentEmpty": (
        "filter_temporal",
        {"x": node("filter_temporal", data=ref("load"), extent=["2022-06-06", "2022-06-01"])},
    ),
    "DimensionExists": (
        "rename_dimension",
        {"x": node("rename_dimension", data=ref("load"), source="t", target="bands")},
    ),
    "LabelNotAvailable": (
        "rename_labels",
        {
            "x": node(
                "rename_labels", data=ref("load"), dimension="bands", source=["B02"], target=["a"]
            )
        },
    ),
    "LabelsNotEnumerated": (
        "rename_labels",
        {"x": node("rename_labels", data=ref("load"), dimension="bands", target=["a", "b"])},
    ),
    "LabelMismatch": (
        "rename_labels",
        {
            "x": node(
                "rename_labels",
                data=ref("load"),
                dimension="bands",
                source=["B04"],
                target=["a", "b"],
            )
        },
    ),
    "LabelExists": (
        "rename_labels",
        {
            "x": node(
                "rename_labels", data=ref("load"), dimension="bands", source=["B04"], target=["B08"]
            )
        },
    ),
    "ArrayElementNotAvailable": (
        "array_element",
        {"x": node("array_element", data=[1, 2], index=5)},
    ),
    "ArrayElementParameterMissing": ("array_element", {"x": node("array_element", data=[1, 2])}),
    "ArrayElementParameterConflict": (
        "array_element",
        {"x": node("array_element", data=[1], index=0, label="a")},
    ),
    "ArrayNotLabeled": ("array_element", {"x": node("array_element", data=[1], label="a")}),
    "ArrayLabelConflict": (
        "array_concat",
        {
            "a": labeled([1], ["a"]),
            "b": labeled([2], ["a"]),
            "x": node("array_concat", array1=ref("a"), array2=ref("b")),
        },
    ),
    "ArrayLengthMismatch": ("array_create_labeled", {"x": labeled([1, 2], ["a"])}),
    "BandExists": ("ndvi", {"x": node("ndvi", data=ref("load"), target_band="B04")}),
    "NirBandAmbiguous": ("ndvi", {"x": node("ndvi", data=ref("load"), nir="B99")}),
    "RedBandAmbiguous": ("ndvi", {"x": node("ndvi", data=ref("load"), red="swir16")}),
    "DimensionAmbiguous": (
        "ndvi",
        {"mean": NO_BANDS, "x": node("ndvi", data=ref("mean"))},
    ),
    "TargetDimensionExists": (
        "flatten_dimensions",
        {
            "x": node(
                "flatten_dimensions",
                data=ref("load"),
                dimensions=["t", "bands"],
                target_dimension="x",
            )
        },
    ),
    "DimensionMismatch": (
        "resample_cube_temporal",
        {
            "time": node("rename_dimension", data=ref("load"), source="t", target="time"),
            "x": node("resample_cube_temporal", data=ref("load"), target=ref("time")),
        },
    ),
    "DistinctDimensionLabelsRequired": (
        "aggregate_temporal",
        {
            "x": node(
                "aggregate_temporal",
                data=ref("load"),
                intervals=[["2022-06-01", "2022-06-05"], ["2022-06-01", "2022-06-09"]],
                reducer=MEAN,
            )
        },
    ),
    "DimensionLabelCountMismatch": (
        "drop_dimension",
        {"x": node("drop_dimension", data=ref("load"), name="t")},
    ),
    "OverlapResolverMissing": (
        "merge_cubes",
        {"x": node("merge_cubes", cube1=ref("load"), cube2=ref("load"))},
    ),
    "IncompatibleDataCubes": (
        "mask",
        {
            "first": node("filter_temporal", data=ref("load"), extent=["2022-06-01", "2022-06-02"]),
            "x": node("mask", data=ref("load"), mask=ref("first")),
        },
    ),
    "FormatUnsuitable": (
        "load_uploaded_files",
        {"x": node("load_uploaded_files", paths=["fields.shp"], format="Shapefile")},
    ),
    "KernelDimensionsUneven": (
        "apply_kernel",
        {"x": node("apply_kernel", data=ref("load"), kernel=[[1, 1], [1, 1]])},
    ),
    "DataCubePropertiesImmutable": (
        "apply_neighborhood",
        {
            "x": node(
                "apply_neighborhood",
                data=ref("load"),
                process=child("reduce_dimension", data=DATA, dimension="t", reducer=MEAN),
                size=[
                    {"dimension": "x", "value": 2, "unit": "px"},
                    {"dimension": "y", "value": 2, "unit": "px"},
                ],
            )
        },
    ),
    "GeometriesOverlap": (
        "apply_polygon",
        {
            "fields": node("load_geojson", data=OVERLAPPING),
            "x": node(
                "apply_polygon",
                data=ref("load"),
                geometries=ref("fields"),
                process=child("absolute", x={"from_parameter": "x"}),
            ),
        },
    ),
    "CountMismatch": (
        "vector_to_random_points",
        {
            "fields": node("load_geojson", data=TWO_FIELDS),
            "x": node("vector_to_random_points", data=ref("fields"), total_count=1),
        },
    ),
    "UnitMismatch": (
        "vector_buffer",
        {
            "fields": node("load_geojson", data=TWO_FIELDS),
            "x": node("vector_buffer", geometries=ref("fields"), distance=10),
        },
    ),
    "InvalidRuntime": ("run_udf", {"x": node("run_udf", data=[1], udf=UDF, runtime="R")}),
    "InvalidVersion": (
        "run_udf",
        {"x": node("run_udf", data=[1], udf=UDF, runtime="Python", version="2.7")},
    ),
    "MinMaxSwapped": ("clip", {"x": node("clip", x=1, min=2, max=1)}),
    "BandFilterParameterMissing": ("filter_bands", {"x": node("filter_bands", data=ref("load"))}),
    "DimensionMissing": (
        "filter_bands",
        {"mean": NO_BANDS, "x": node("filter_bands", data=ref("mean"), bands=["B04"])},
    ),
    "QuantilesParameterMissing": ("quantiles", {"x": node("quantiles", data=[1, 2])}),
    "QuantilesParameterConflict": (
        "quantiles",
        {"x": node("quantiles", data=[1], probabilities=[0.5], q=2)},
    ),
    "AscendingProbabilitiesRequired": (
        "quantiles",
        {"x": node("quantiles", data=[1], probabilities=[0.5, 0.1])},
    ),
}


# Further processes that raise an exception of CASES as itself: (exception name, process,
# nodes). `STAC_ITEM` is a STAC Item of S2's 2022-06-01 (B04 and B08) in a directory
# load_stac may read.
STAC_ITEM = "<data>/item.json"
MORE_CASES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "NoDataAvailable",
        "load_stac",
        {"x": node("load_stac", url=STAC_ITEM, temporal_extent=["2030-01-01", "2030-02-01"])},
    ),
    (
        "TemporalExtentEmpty",
        "load_collection",
        {"x": load_s2(["2022-06-06", "2022-06-06"])},
    ),
    (
        "TemporalExtentEmpty",
        "load_stac",
        {"x": node("load_stac", url=STAC_ITEM, temporal_extent=["2022-06-06", "2022-06-01"])},
    ),
    # PNG holds one image of 1 or 3 bands, not 2 dates of 2 bands.
    ("FormatUnsuitable", "save_result", {"x": node("save_result", data=ref("load"), format="PNG")}),
]


def cases() -> list[Any]:
    """A case of every exception raised as itself (None for one without a case, which
    fails), then the further cases."""
    first = [pytest.param(name, *CASES.get(name, (None, {})), id=name) for name in RAISED]
    return first + [
        pytest.param(name, process_id, nodes, id=f"{name}-{process_id}")
        for name, process_id, nodes in MORE_CASES
    ]


def write_stac_item(folder: Path) -> None:
    assets = {
        band: {"href": f"S2_20220601_{band}.tif", "type": "image/tiff; application=geotiff"}
        for band in ("B04", "B08")
    }
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "S2_20220601",
        "geometry": None,
        "properties": {"datetime": "2022-06-01T00:00:00Z"},
        "assets": assets,
        "links": [],
    }
    (folder / "item.json").write_text(json.dumps(item))


def _arguments(graph: dict[str, Any]) -> list[Any]:
    return [value for each in graph.values() for value in each["arguments"].values()]


def test_every_case_is_an_exception_the_executor_raises_and_its_process_declares() -> None:
    assert set(CASES) <= set(RAISED)
    assert {name for name, _, _ in MORE_CASES} <= set(CASES)
    every = [(name, process_id) for name, (process_id, _) in CASES.items()]
    for name, process_id in every + [(name, process_id) for name, process_id, _ in MORE_CASES]:
        assert process_id in DECLARED[name], (name, process_id)


@pytest.mark.parametrize(("name", "process_id", "nodes"), cases())
def test_a_declared_exception_is_raised_with_the_specs_name_as_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, process_id: str | None, nodes: Any
) -> None:
    assert process_id is not None, f"{name} is raised as itself: add a graph that raises it"
    folder = tmp_path / "data"
    folder.mkdir()
    band = np.arange(1, SIZE * SIZE + 1, dtype=np.uint16).reshape(SIZE, SIZE)
    catalog = write_s2(
        folder,
        {(date, b): band for date in ("20220601", "20220606") for b in ("B04", "B08")},
    )
    write_stac_item(folder)
    monkeypatch.setenv("OPENEO_EXECUTOR_STAC_LOCAL_ROOTS", str(folder))
    nodes = json.loads(json.dumps(nodes).replace("<data>", str(folder)))
    graph = {**nodes, "x": {**nodes["x"], "result": True}}
    if ref("load") in _arguments(graph):
        graph["load"] = LOAD
    with pytest.raises(OpenEOError) as raised:
        run_process({"process_graph": graph}, make_environment(tmp_path, catalog=catalog))
    error = raised.value
    assert (error.code, error.status) == (name, 400), error.message
    assert error.message.startswith(f"{DECLARED[name][process_id]} ")
    assert error.params.get("process") in (process_id, None)
