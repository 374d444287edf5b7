"""`validate_process` with collection metadata: bands, properties and extents checked against
the collection, what the graph does not determine accepted."""

from typing import Any

import pytest

from eoplex_common.collection_checks import CollectionMetadata
from eoplex_common.errors import NoDataAvailable, OpenEOError
from eoplex_common.process_graph import validate_process

S2 = CollectionMetadata(
    {
        "cube:dimensions": {"bands": {"type": "bands", "values": ["B02", "B04", "B08"]}},
        "summaries": {
            "eo:bands": [
                {"name": "B02", "common_name": "blue"},
                {"name": "B04", "common_name": "red"},
                {"name": "B08", "common_name": "nir"},
            ]
        },
        "extent": {
            "spatial": {"bbox": [[11.0, 46.0, 12.0, 47.0]]},
            "temporal": {"interval": [["2022-05-01T00:00:00Z", "2022-07-31T00:00:00Z"]]},
        },
    },
    frozenset({"eo:cloud_cover", "platform"}),
)
BOX = {"west": 11.2, "south": 46.4, "east": 11.3, "north": 46.5}
JUNE = ["2022-06-01", "2022-07-01"]


def node(process_id: str, result: bool = False, **arguments: Any) -> dict[str, Any]:
    return {"process_id": process_id, "arguments": arguments, "result": result}


def load(**arguments: Any) -> dict[str, Any]:
    given = {"id": "S2", "spatial_extent": BOX, "temporal_extent": JUNE} | arguments
    return node("load_collection", **given)


# The exceptions ndvi's specification declares for its bands, as execution raises them.
NDVI_CODES = {"nir": "NirBandAmbiguous", "red": "RedBandAmbiguous"}


def problems(graph: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(process, parameter, reason) of every problem of `graph` against S2, each a
    ProcessParameterInvalid but those of ndvi's bands (`NDVI_CODES`)."""
    errors: list[OpenEOError] = validate_process(
        {"process_graph": graph}, collections={"S2": S2}.get
    )
    found = [(e.params["process"], e.params["parameter"], e.params["reason"]) for e in errors]
    for error, (process, parameter, _) in zip(errors, found, strict=True):
        codes = NDVI_CODES if process == "ndvi" else {}
        assert error.code == codes.get(parameter, "ProcessParameterInvalid"), error
    return found


def saved(graph: dict[str, Any], last: str) -> dict[str, Any]:
    return graph | {"save": node("save_result", True, data={"from_node": last}, format="GTiff")}


def test_bands_by_name_or_common_name_are_valid() -> None:
    graph = saved({"load": load(bands=["B04", "nir"])}, "load")
    assert problems(graph) == []


def test_a_band_the_collection_lacks_is_named_with_the_available_ones() -> None:
    [(process, parameter, reason)] = problems(saved({"load": load(bands=["B04", "B99"])}, "load"))
    assert (process, parameter) == ("load_collection", "bands")
    assert reason == "band 'B99' does not exist in collection 'S2'; available: B02, B04, B08"


@pytest.mark.parametrize(
    ("bands", "nir", "expected"),
    [
        (["B04", "B08"], "B08", []),
        (None, "B99", ["the cube has no band 'B99'; available bands: B02, B04, B08"]),
        (["B04", "B08"], "B02", ["the cube has no band 'B02'; available bands: B04, B08"]),
        # A common name the executor resolves by its own table of sensors.
        (["B04", "B08"], "nir08", []),
    ],
)
def test_ndvi_bands_are_checked_against_the_bands_loaded(
    bands: list[str] | None, nir: str, expected: list[str]
) -> None:
    graph = {
        "load": load(bands=bands),
        "time": node("filter_temporal", data={"from_node": "load"}, extent=JUNE),
        "ndvi": node("ndvi", data={"from_node": "time"}, nir=nir),
    }
    found = problems(saved(graph, "ndvi"))
    assert found == [("ndvi", "nir", reason) for reason in expected]


def test_filter_bands_then_ndvi_sees_the_filtered_bands() -> None:
    graph = {
        "load": load(),
        "pick": node("filter_bands", data={"from_node": "load"}, bands=["red", "B99"]),
        "keep": node("filter_bands", data={"from_node": "load"}, bands=["B04", "B08"]),
        "ndvi": node("ndvi", data={"from_node": "keep"}, red="B02"),
    }
    assert problems(saved(graph, "ndvi")) == [
        ("filter_bands", "bands", "the cube has no band 'B99'; available bands: B02, B04, B08"),
        ("ndvi", "red", "the cube has no band 'B02'; available bands: B04, B08"),
    ]


def test_bands_the_graph_does_not_determine_are_accepted() -> None:
    merged = {
        "load": load(bands=["B04"]),
        "other": load(bands=["B08"]),
        "merge": node("merge_cubes", cube1={"from_node": "load"}, cube2={"from_node": "other"}),
        "ndvi": node("ndvi", data={"from_node": "merge"}, nir="B08"),
    }
    assert problems(saved(merged, "ndvi")) == []
    reduced = {
        "load": load(),
        "reduce": node(
            "reduce_dimension",
            data={"from_node": "load"},
            dimension="bands",
            reducer={"process_graph": {"m": node("mean", True, data={"from_parameter": "data"})}},
        ),
        "ndvi": node("ndvi", data={"from_node": "reduce"}, nir="B99"),
    }
    assert problems(saved(reduced, "ndvi")) == []


def test_a_property_the_items_lack_is_named_with_theirs() -> None:
    cloudy = {"process_graph": {"c": node("lte", True, x={"from_parameter": "value"}, y=20)}}
    graph = saved(
        {"load": load(properties={"eo:cloud_cover": cloudy, "sat:orbit_state": cloudy})}, "load"
    )
    assert problems(graph) == [
        (
            "load_collection",
            "properties",
            "no item of collection 'S2' has the property 'sat:orbit_state'; "
            "its items have: eo:cloud_cover, platform",
        )
    ]


@pytest.mark.parametrize(
    ("arguments", "outside"),
    [
        (
            {"spatial_extent": {"west": 5.0, "south": 40.0, "east": 6.0, "north": 41.0}},
            "The spatial extent does not overlap the extent of collection 'S2', west 11.0, "
            "south 46.0, east 12.0, north 47.0.",
        ),
        (
            {"temporal_extent": ["2023-01-01", "2023-02-01"]},
            "The temporal extent lies outside that of collection 'S2', 2022-05-01T00:00:00Z "
            "to 2022-07-31T00:00:00Z.",
        ),
        # The end of a temporal extent is excluded.
        ({"temporal_extent": ["2022-04-01", "2022-05-01"]}, "The temporal extent lies outside"),
    ],
)
def test_extents_outside_the_collection_have_no_data(
    arguments: dict[str, Any], outside: str
) -> None:
    graph = saved({"load": load(**arguments)}, "load")
    [error] = validate_process({"process_graph": graph}, collections={"S2": S2}.get)
    assert isinstance(error, NoDataAvailable)
    assert error.message.startswith(f"There is no data available for the given extents. {outside}")


@pytest.mark.parametrize(
    "arguments",
    [
        {"temporal_extent": ["2022-07-31T00:00:00Z", None]},
        {"temporal_extent": [None, "2022-05-02"]},
        {
            "spatial_extent": {
                "west": 600000,
                "south": 5100000,
                "east": 700000,
                "north": 5200000,
                "crs": 32632,
            }
        },
        {"spatial_extent": {"from_parameter": "area"}},
        {"temporal_extent": ["not a date", "2023-01-01"]},
    ],
)
def test_extents_overlapping_or_not_determined_here_are_accepted(
    arguments: dict[str, Any],
) -> None:
    process = {"process_graph": saved({"load": load(**arguments)}, "load"), "parameters": None}
    errors = validate_process(process, collections={"S2": S2}.get)
    assert not any(isinstance(error, NoDataAvailable) for error in errors), errors


def test_collections_without_metadata_are_accepted() -> None:
    bare = CollectionMetadata({})
    graph = saved({"load": load(bands=["B99"], properties={"x": {"process_graph": {}}})}, "load")
    errors = validate_process({"process_graph": graph}, collections={"S2": bare}.get)
    assert all(error.params.get("process") != "load_collection" for error in errors), errors
