"""End to end: process discovery, validation and synchronous processing through the `openeo` client.

Results are checked against numpy computed here from the demo collection's own
files (`<state>/demo-data`), not against the engine.
"""

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import openeo
import pytest
import rasterio
import requests
import xarray as xr
from openeo.rest import OpenEoApiError
from rasterio.errors import NotGeoreferencedWarning

from eoplex.stack import LocalStack
from eoplex_common.process_specs import IMPLEMENTED_PROCESSES
from tests.openapi_validation import validate_error
from tests.stack import admin, demo_connection

S2 = "SENTINEL2_L2A_DEMO"
EXTENT = {"west": 11.28, "south": 46.47, "east": 11.33, "north": 46.50}
JUNE = ["2022-06-01", "2022-07-01"]


@pytest.fixture(scope="module")
def connection(local_stack: LocalStack) -> openeo.Connection:
    return demo_connection(local_stack)


def demo_band(stack: LocalStack, date: str, band: str) -> Path:
    return stack.config.state_dir / "demo-data" / S2 / f"S2_{date.replace('-', '')}_{band}.tif"


def expected_ndvi_max(stack: LocalStack, dates: list[str], bounds: Any) -> np.ndarray:
    """max over `dates` of (B08 - B04) / (B08 + B04) in float64, NaN where either is no-data,
    on the window of the demo files that `bounds` covers."""
    result = None
    for date in dates:
        with rasterio.open(demo_band(stack, date, "B04")) as red_file:
            window = red_file.window(*bounds)
            red = red_file.read(1, window=window).astype(np.float64)
        with rasterio.open(demo_band(stack, date, "B08")) as nir_file:
            nir = nir_file.read(1, window=nir_file.window(*bounds)).astype(np.float64)
        invalid = (red == 0) | (nir == 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ndvi = np.where(invalid, np.nan, (nir - red) / (nir + red))
        result = ndvi if result is None else np.fmax(result, ndvi)
    assert result is not None
    return result


def june_dates() -> list[str]:
    first = np.datetime64("2022-05-01")
    dates = [first + np.timedelta64(5 * i, "D") for i in range(25)]
    return [str(d) for d in dates if np.datetime64(JUNE[0]) <= d < np.datetime64(JUNE[1])]


def ndvi_max_cube(connection: openeo.Connection) -> Any:
    cube = connection.load_collection(
        S2, spatial_extent=EXTENT, temporal_extent=JUNE, bands=["B04", "B08"]
    )
    return cube.ndvi(nir="B08", red="B04").max_time()


def two_dates_of_red(connection: openeo.Connection) -> Any:
    """B04 of the first ten days of June: the demo data has two dates there."""
    return connection.load_collection(
        S2, spatial_extent=EXTENT, temporal_extent=["2022-06-01", "2022-06-11"], bands=["B04"]
    )


def test_ndvi_max_download_equals_numpy_on_the_demo_files(
    connection: openeo.Connection, local_stack: LocalStack, tmp_path: Path
) -> None:
    path = tmp_path / "ndvi_max.tif"
    ndvi_max_cube(connection).download(path)
    with rasterio.open(path) as result:
        assert result.crs.to_epsg() == 32632
        assert result.count == 1 and result.dtypes[0] == "float32"
        values = result.read(1)
        bounds = result.bounds
    expected = expected_ndvi_max(local_stack, june_dates(), bounds)
    assert values.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(values), np.isnan(expected))
    np.testing.assert_allclose(values, expected, atol=1e-6, equal_nan=True)
    # Red above near-infrared somewhere (the lake): NDVI below zero, no wrap-around.
    assert np.nanmin(values) < 0 <= np.nanmax(values) <= 1


def test_validation_of_a_valid_graph_has_no_errors(connection: openeo.Connection) -> None:
    assert connection.validate_process_graph(ndvi_max_cube(connection)) == []


def test_processes_listed_are_exactly_the_implemented_ones(connection: openeo.Connection) -> None:
    listed = {process["id"] for process in connection.list_processes()}
    assert listed == IMPLEMENTED_PROCESSES


def _node(process_id: str, arguments: dict[str, Any], result: bool = False) -> dict[str, Any]:
    return {"process_id": process_id, "arguments": arguments, "result": result}


def _load(collection_id: str = S2) -> dict[str, Any]:
    return _node(
        "load_collection",
        {"id": collection_id, "spatial_extent": EXTENT, "temporal_extent": JUNE},
    )


@pytest.mark.parametrize(
    ("graph", "code"),
    [
        ({"a": _node("no_such_process", {}, True)}, "ProcessUnsupported"),
        ({"a": _node("add", {"x": 1}, True)}, "ProcessParameterRequired"),
        ({"a": _node("add", {"x": 1, "y": {"from_node": "ghost"}}, True)}, "ProcessGraphInvalid"),
        ({"a": _load("NO_SUCH_COLLECTION") | {"result": True}}, "CollectionNotFound"),
        ({"a": _node("add", {"x": 1, "y": 2, "z": 3}, True)}, "ProcessParameterUnsupported"),
        ({"a": _node("add", {"x": "one", "y": 2}, True)}, "ProcessParameterInvalid"),
        (
            {f"n{i}": _node("add", {"x": 1, "y": 2}, i == 0) for i in range(1200)},
            "ProcessGraphComplexity",
        ),
    ],
)
def test_validation_errors(connection: openeo.Connection, graph: dict[str, Any], code: str) -> None:
    errors = connection.validate_process_graph({"process_graph": graph})
    assert code in {error["code"] for error in errors}, errors


def test_the_same_errors_stop_a_synchronous_request(connection: openeo.Connection) -> None:
    graph = {"a": _node("add", {"x": 1, "y": {"from_node": "ghost"}}, True)}
    with pytest.raises(OpenEoApiError) as raised:
        connection.execute({"process_graph": graph})
    assert raised.value.code == "ProcessGraphInvalid"


def test_a_json_result_of_plain_math(connection: openeo.Connection) -> None:
    graph = {
        "a": _node("add", {"x": 1, "y": 2.5}),
        "b": _node("multiply", {"x": {"from_node": "a"}, "y": 2}),
        "c": _node("save_result", {"data": {"from_node": "b"}, "format": "JSON"}, True),
    }
    assert connection.execute({"process_graph": graph}) == 7


def test_netcdf_result_has_time_bands_and_crs(
    connection: openeo.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "cube.nc"
    two_dates_of_red(connection).download(path, format="netCDF")
    with xr.open_dataset(path) as dataset:
        assert "B04" in dataset.data_vars
        times = [str(value)[:10] for value in dataset["t"].values]
        assert times == ["2022-06-05", "2022-06-10"]
        assert dataset["B04"].dims == ("t", "y", "x")
        assert float(dataset["B04"].max()) > 0


def test_json_result_of_a_small_cube(
    connection: openeo.Connection, local_stack: LocalStack, tmp_path: Path
) -> None:
    tiny = {"west": 11.30, "south": 46.48, "east": 11.3005, "north": 46.4805}
    cube = connection.load_collection(
        S2, spatial_extent=tiny, temporal_extent=["2022-06-01", "2022-06-06"], bands=["B08"]
    )
    path = tmp_path / "cube.json"
    cube.download(path, format="JSON")
    document = json.loads(path.read_text())
    dimensions = document["dimensions"]
    assert dimensions["t"]["labels"] == ["2022-06-05T00:00:00Z"]
    assert dimensions["bands"]["labels"] == ["B08"]
    values = np.array(document["data"], dtype=float)[0, 0]
    with rasterio.open(demo_band(local_stack, "2022-06-05", "B08")) as nir:
        expected = [
            [next(nir.sample([(x, y)]))[0] for x in dimensions["x"]["labels"]]
            for y in dimensions["y"]["labels"]
        ]
    np.testing.assert_array_equal(values, np.array(expected, dtype=float))


def test_png_preview_is_8_bit(connection: openeo.Connection, tmp_path: Path) -> None:
    path = tmp_path / "ndvi.png"
    ndvi_max_cube(connection).download(path, format="PNG")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # A PNG carries no georeferencing, which rasterio warns about.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        png = rasterio.open(path)
    with png:
        assert png.driver == "PNG"
        assert png.dtypes[0] == "uint8"
        assert png.read(1).max() > 0


def test_gtiff_of_several_dates_in_one_synchronous_file(
    connection: openeo.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "two_dates.tif"
    two_dates_of_red(connection).download(path, format="GTiff")
    with rasterio.open(path) as result:
        assert result.count == 2
        assert result.descriptions[0].startswith("2022-06-05")


def test_gtiff_of_a_cube_whose_dates_apply_dimension_enumerated(
    connection: openeo.Connection, tmp_path: Path
) -> None:
    """apply_dimension with a process giving another number of values per pixel (the minimum
    and maximum of June's dates) labels `t` 0 and 1; saving that as GTiff was a 500."""
    extremes = {
        "lo": _node("min", {"data": {"from_parameter": "data"}}),
        "hi": _node("max", {"data": {"from_parameter": "data"}}),
        "both": _node("array_create", {"data": [{"from_node": "lo"}, {"from_node": "hi"}]}, True),
    }
    graph = {
        "load": _node(
            "load_collection",
            {"id": S2, "spatial_extent": EXTENT, "temporal_extent": JUNE, "bands": ["B04", "B08"]},
        ),
        "apply": _node(
            "apply_dimension",
            {
                "data": {"from_node": "load"},
                "dimension": "t",
                "process": {"process_graph": extremes},
            },
        ),
        "save": _node("save_result", {"data": {"from_node": "apply"}, "format": "GTiff"}, True),
    }
    path = tmp_path / "extremes.tif"
    connection.download({"process_graph": graph}, path)
    with rasterio.open(path) as result:
        assert result.descriptions == ("0 B04", "0 B08", "1 B04", "1 B08")
        assert "datetime" not in result.tags(1), "0 is no date"
        low, high = result.read(1, masked=True), result.read(3, masked=True)
    assert low.count() > 0 and bool((low <= high).all())
    assert bool((low < high).any()), "six dates do not all have the same values"


def test_tenant_pixel_limit_points_to_batch_jobs(local_stack: LocalStack) -> None:
    admin(local_stack, "tenants", "add", "tiny", "--max-sync-pixels", "1000")
    admin(local_stack, "users", "add", "carol", "--tenant", "tiny", "--password", "carol-pw-123")
    assert local_stack.wait_for_demo_data(timeout_seconds=180)
    connection = openeo.connect(local_stack.api_url)
    connection.authenticate_basic("carol", "carol-pw-123")
    with pytest.raises(OpenEoApiError) as raised:
        ndvi_max_cube(connection).download()
    assert raised.value.code == "ProcessGraphComplexity"
    assert "batch job" in raised.value.message


def test_result_without_a_process_graph(local_stack: LocalStack) -> None:
    token = requests.get(
        f"{local_stack.api_url}credentials/basic",
        auth=(local_stack.demo_user, local_stack.demo_password),
        timeout=10,
    ).json()["access_token"]
    response = requests.post(
        f"{local_stack.api_url}result",
        json={"process": {}},
        headers={"Authorization": f"Bearer basic//{token}"},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "ProcessGraphMissing"
    validate_error(response.json())
