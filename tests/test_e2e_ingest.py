"""Operators ingest GeoTIFFs with `eoplex admin collections`; users see them with the openeo client.

Runs against the whole local stack (`local_stack`), which also registers the demo
collections at its first start.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import openeo
import rasterio
from rasterio.transform import Affine

from eoplex.stack import LocalStack
from tests.openapi_validation import validate_response
from tests.stac_validation import validate_stac_collection

GRIDS = {32632: (675000.0, 5155000.0), 32633: (280000.0, 5160000.0)}


def write_tiff(path: Path, *, epsg: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    west, north = GRIDS[epsg]
    profile = {
        "driver": "GTiff",
        "height": 64,
        "width": 64,
        "count": 1,
        "dtype": "uint16",
        "crs": f"EPSG:{epsg}",
        "transform": Affine(20.0, 0.0, west, 0.0, -20.0, north),
        "nodata": 0,
    }
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(np.arange(1, 64 * 64 + 1, dtype="uint16").reshape(1, 64, 64))


def ingest(local_stack: LocalStack, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eoplex", "admin", "collections", "ingest", *argv],
        env={**os.environ, **local_stack.env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ingested_geotiffs_in_two_crss_are_listed_and_described(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    for epsg in GRIDS:
        for day in ("20220601", "20220611"):
            for band in ("B04", "B08"):
                write_tiff(tmp_path / str(epsg) / f"T_{day}_{band}.tif", epsg=epsg)
        result = ingest(
            local_stack,
            "--id", f"E2E_{epsg}",
            "--from", str(tmp_path / str(epsg)),
            "--datetime-pattern", r"_(?P<datetime>\d{8})_",
            "--band-pattern", r"_(?P<band>B\d\d)\.tif$",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr

    connection = openeo.connect(local_stack.api_url)
    assert {"E2E_32632", "E2E_32633"} <= set(connection.list_collection_ids())
    for epsg in GRIDS:
        collection = connection.describe_collection(f"E2E_{epsg}")
        validate_response("get", "/collections/{collection_id}", 200, collection)
        validate_stac_collection(collection)
        assert collection["cube:dimensions"]["x"]["reference_system"] == epsg
        assert collection["cube:dimensions"]["bands"]["values"] == ["B04", "B08"]
        assert collection["extent"]["temporal"]["interval"] == [
            ["2022-06-01T00:00:00Z", "2022-06-11T00:00:00Z"]
        ]


def test_a_folder_with_mixed_crss_in_one_band_registers_nothing(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    write_tiff(tmp_path / "T_20220601_B04.tif", epsg=32632)
    write_tiff(tmp_path / "T_20220611_B04.tif", epsg=32633)

    result = ingest(
        local_stack,
        "--id", "E2E_MIXED",
        "--from", str(tmp_path),
        "--datetime-pattern", r"_(?P<datetime>\d{8})_",
        "--band-pattern", r"_(?P<band>B\d\d)\.tif$",
    )  # fmt: skip

    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "one band must have one CRS" in result.stderr
    assert "E2E_MIXED" not in openeo.connect(local_stack.api_url).list_collection_ids()


def test_the_demo_collections_are_registered_at_first_start(local_stack: LocalStack) -> None:
    assert local_stack.wait_for_demo_data(timeout_seconds=120)
    connection = openeo.connect(local_stack.api_url)

    assert {"SENTINEL2_L2A_DEMO", "DEM_DEMO"} <= set(connection.list_collection_ids())
    s2 = connection.describe_collection("SENTINEL2_L2A_DEMO")
    validate_stac_collection(s2)
    assert "synthetic" in s2["title"].lower()
    assert s2["cube:dimensions"]["bands"]["values"] == ["B02", "B03", "B04", "B08", "SCL"]
    assert s2["cube:dimensions"]["x"]["extent"] == [675000.0, 685000.0]
    assert s2["cube:dimensions"]["y"]["extent"] == [5145000.0, 5155000.0]
    dem = connection.describe_collection("DEM_DEMO")
    assert dem["cube:dimensions"]["x"]["reference_system"] == 32633
