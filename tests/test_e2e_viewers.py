"""End to end: results that web viewers show as they are, through the `openeo` client.

GeoTIFFs carry their bands' statistics (in the file and in the batch results' STAC Item),
so viewers stretch them; PNGs of values already scaled to bytes are not stretched again.
Expected values are computed here with numpy from the files the back-end returned.
"""

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import openeo
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning

from eoplex.stack import LocalStack
from tests.stack import demo_connection

S2 = "SENTINEL2_L2A_DEMO"
EXTENT = {"west": 11.28, "south": 46.47, "east": 11.33, "north": 46.50}


@pytest.fixture(scope="module")
def connection(local_stack: LocalStack) -> openeo.Connection:
    return demo_connection(local_stack)


def red(connection: openeo.Connection) -> Any:
    cube = connection.load_collection(
        S2, spatial_extent=EXTENT, temporal_extent=["2022-06-05", "2022-06-06"], bands=["B04"]
    )
    return cube.max_time()


def assert_band_statistics(path: Path, described: list[dict[str, Any]] | None = None) -> None:
    """The file's GDAL band statistics are those of its valid values, as is `described`
    (`raster:bands`) when given."""
    with rasterio.open(path) as tif:
        for index in range(1, tif.count + 1):
            valid = tif.read(index, masked=True).compressed().astype(np.float64)
            expected = {
                "minimum": valid.min(),
                "maximum": valid.max(),
                "mean": valid.mean(),
                "stddev": valid.std(),
            }
            tags = tif.tags(index)
            for name, value in expected.items():
                assert float(tags[f"STATISTICS_{name.upper()}"]) == pytest.approx(value, rel=1e-9)
            if described is not None:
                band = described[index - 1]
                assert (band["data_type"], band["nodata"]) == (tif.dtypes[0], "nan")
                for name, value in expected.items():
                    assert band["statistics"][name] == pytest.approx(value, rel=1e-9)


def test_a_synchronous_gtiff_carries_its_band_statistics(
    connection: openeo.Connection, tmp_path: Path
) -> None:
    path = tmp_path / "red.tif"
    red(connection).download(path, format="GTiff")
    assert_band_statistics(path)


def test_batch_results_describe_their_bands_with_statistics(
    connection: openeo.Connection, tmp_path: Path
) -> None:
    job = red(connection).create_job(out_format="GTiff", title="statistics")
    job.start_and_wait(print=lambda *_: None, max_poll_interval=1)
    results = job.get_results()
    (asset,) = results.get_metadata()["assets"].values()
    (path,) = [p for p in results.download_files(tmp_path) if p.suffix == ".tif"]
    assert_band_statistics(path, asset["raster:bands"])
    job.delete()


def test_a_png_of_values_scaled_to_bytes_is_not_stretched(
    connection: openeo.Connection, tmp_path: Path
) -> None:
    scaled = red(connection).linear_scale_range(0, 3000, 0, 255)
    scaled.download(tmp_path / "scaled.tif", format="GTiff")
    scaled.download(tmp_path / "scaled.png", format="PNG")

    with rasterio.open(tmp_path / "scaled.tif") as tif:
        values = tif.read(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(tmp_path / "scaled.png") as png:
            pixels = png.read(1)
    missing = np.isnan(values)
    expected = np.rint(np.nan_to_num(values, nan=0.0))
    if missing.any():
        expected = np.maximum(expected, 1)
        expected[missing] = 0
    # A stretch between percentiles would have moved the values.
    np.testing.assert_array_equal(pixels, expected.astype(np.uint8))
