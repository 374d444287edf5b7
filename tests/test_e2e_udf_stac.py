"""End to end through the `openeo` client: a Python UDF that rescales the demo collection, and
load_stac of a static catalog written here and served over loopback HTTP; results compared
with numpy on the files themselves."""

from pathlib import Path

import numpy as np
import openeo
import pytest
import rasterio
import xarray as xr
from openeo.rest import OpenEoApiError

from eoplex.stack import LocalStack
from tests.stac_catalog import DATES, SIZE, write_catalog
from tests.stac_server import serve
from tests.stack import demo_connection
from tests.test_e2e_processing import EXTENT, S2, demo_band, two_dates_of_red

RESCALE = """
import xarray

def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    return cube * context["scale"] + context["offset"]
"""

FAILING = """
import xarray

def apply_datacube(cube: xarray.DataArray, context: dict) -> xarray.DataArray:
    raise ValueError("no reflectance above " + str(context["limit"]))
"""

# As the UDF API documents them: by name, without annotations.
UNANNOTATED = """
def apply_datacube(cube, context):
    return cube * context["scale"]
"""

UNANNOTATED_TIMESERIES = """
def apply_timeseries(series, context):
    return series - series.mean()
"""

CHATTY = """
from openeo.udf import inspect

def apply_datacube(cube, context):
    print("chunk of", dict(cube.sizes))
    inspect(data=cube, message="what the UDF got", code="Check", level="warning")
    print("#" * 5000)
    return cube
"""


@pytest.fixture(scope="module")
def connection(local_stack: LocalStack) -> openeo.Connection:
    return demo_connection(local_stack)


def test_the_python_runtime_is_listed(connection: openeo.Connection) -> None:
    runtimes = connection.list_udf_runtimes()
    python = runtimes["Python"]
    assert python["default"] in python["versions"]
    assert "numpy" in python["versions"][python["default"]]["libraries"]


def test_udf_rescaling_the_demo_collection_equals_numpy(
    connection: openeo.Connection, local_stack: LocalStack, tmp_path: Path
) -> None:
    cube = connection.load_collection(
        S2, spatial_extent=EXTENT, temporal_extent=["2022-06-05", "2022-06-06"], bands=["B04"]
    )
    udf = openeo.UDF(RESCALE, context={"scale": 0.0001, "offset": -0.01})
    path = tmp_path / "rescaled.tif"
    cube.apply(udf).download(path, format="GTiff")
    with rasterio.open(path) as result:
        assert result.count == 1
        values = result.read(1)
        bounds = result.bounds
    with rasterio.open(demo_band(local_stack, "2022-06-05", "B04")) as source:
        raw = source.read(1, window=source.window(*bounds)).astype(np.float64)
    expected = np.where(raw == 0, np.nan, raw * 0.0001 - 0.01)
    assert values.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(values), np.isnan(expected))
    np.testing.assert_allclose(values, expected, atol=1e-6, equal_nan=True)


def test_a_failing_udf_answers_its_traceback_and_the_back_end_keeps_serving(
    connection: openeo.Connection,
) -> None:
    cube = connection.load_collection(
        S2, spatial_extent=EXTENT, temporal_extent=["2022-06-05", "2022-06-06"], bands=["B04"]
    )
    with pytest.raises(OpenEoApiError) as raised:
        cube.apply(openeo.UDF(FAILING, context={"limit": 1})).execute()
    assert raised.value.code == "ProcessParameterInvalid"
    assert "ValueError: no reflectance above 1" in raised.value.message
    assert 'File "<udf>", line 5, in apply_datacube' in raised.value.message
    # Both workers are still there to answer.
    for _ in range(3):
        assert connection.execute({"process_graph": {"a": _add()}}) == 3


def test_udfs_without_annotations_run_by_their_name(
    connection: openeo.Connection, tmp_path: Path
) -> None:
    red = two_dates_of_red(connection)
    red.download(tmp_path / "red.nc", format="netCDF")
    scaled = red.apply(openeo.UDF(UNANNOTATED, context={"scale": 2}))
    scaled.download(tmp_path / "scaled.nc", format="netCDF")
    centred = red.apply_dimension(process=openeo.UDF(UNANNOTATED_TIMESERIES), dimension="t")
    centred.download(tmp_path / "centred.nc", format="netCDF")
    with (
        xr.open_dataset(tmp_path / "red.nc") as source,
        xr.open_dataset(tmp_path / "scaled.nc") as doubled,
        xr.open_dataset(tmp_path / "centred.nc") as anomalies,
    ):
        raw = source["B04"].values.astype(np.float64)
        assert raw.shape[0] == 2 and np.nanmax(raw) > 0
        np.testing.assert_allclose(doubled["B04"].values, raw * 2, equal_nan=True)
        expected = raw - np.nanmean(raw, axis=0)
        np.testing.assert_allclose(anomalies["B04"].values, expected, atol=1e-3, equal_nan=True)


def test_what_a_udf_prints_and_inspects_is_in_the_batch_job_log(
    connection: openeo.Connection,
) -> None:
    cube = two_dates_of_red(connection).apply(openeo.UDF(CHATTY))
    job = cube.create_job(out_format="GTiff", title="chatty UDF")
    job.start_and_wait(print=lambda *_: None, max_poll_interval=1)
    logs = job.logs()
    printed = [entry for entry in logs if entry["message"].startswith("UDF apply_datacube: chunk")]
    assert printed and printed[0]["level"] == "info"
    assert "'bands': 1" in printed[0]["message"]
    inspected = [e for e in logs if e["message"] == "UDF apply_datacube: Check: what the UDF got"]
    assert inspected and inspected[0]["level"] == "warning"
    assert inspected[0]["data"]["type"] == "array"
    assert inspected[0]["data"]["dimensions"]["bands"] == 1
    # 5000 characters printed come as entries of 2000 at most.
    hashes = [e["message"] for e in logs if e["message"].startswith("UDF apply_datacube: ###")]
    assert hashes and max(len(message) for message in hashes) <= len("UDF apply_datacube: ") + 2000
    job.delete()


def _add() -> dict[str, object]:
    return {"process_id": "add", "arguments": {"x": 1, "y": 2}, "result": True}


def test_load_stac_of_a_static_catalog_over_http(
    connection: openeo.Connection, tmp_path: Path
) -> None:
    written = write_catalog(tmp_path / "catalog")
    with serve(written.folder) as base_url:
        cube = connection.load_stac(base_url + "catalog.json", bands=["B08"])
        path = tmp_path / "stac.tif"
        cube.download(path, format="GTiff")
    with rasterio.open(path) as result:
        assert result.count == len(DATES)
        assert result.crs.to_epsg() == 32632
        assert (result.width, result.height) == (SIZE, SIZE)
        values = result.read()
        descriptions = result.descriptions
    for index, date in enumerate(DATES):
        assert descriptions[index].startswith(date)
        np.testing.assert_array_equal(values[index], written.expected(date, "B08"))
