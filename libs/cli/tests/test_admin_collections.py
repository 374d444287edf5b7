"""`eoplex admin collections ...` against data-discovery in-process (real MongoDB, NATS, S3)."""

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

from tests.admin_command import admin
from tests.data_discovery_server import RunningDataDiscovery


def write_tiff(path: Path, *, tags: dict[str, str] | None = None) -> None:
    profile = {
        "driver": "GTiff",
        "height": 16,
        "width": 16,
        "count": 1,
        "dtype": "int16",
        "crs": "EPSG:32633",
        "transform": Affine(30.0, 0.0, 280000.0, 0.0, -30.0, 5160000.0),
        "nodata": -9999,
    }
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(np.full((1, 16, 16), 500, dtype="int16"))
        dataset.update_tags(**(tags or {}))


async def listed_ids(capsys: pytest.CaptureFixture[str]) -> list[str]:
    status, out, _ = await admin(capsys, "collections", "list", "--json")
    assert status == 0
    return [collection["id"] for collection in json.loads(out)]


async def test_a_folder_is_ingested_listed_reingested_and_removed(
    data_discovery: RunningDataDiscovery, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for day in ("2021-01-01", "2021-06-01"):
        write_tiff(tmp_path / f"dem_{day}.tif")
    ingest = ["collections", "ingest", "--id", "MY_DEM", "--from", str(tmp_path)]
    ingest += ["--datetime-pattern", r"(?P<datetime>\d{4}-\d\d-\d\d)", "--title", "My DEM"]

    status, out, err = await admin(capsys, *ingest, "--json")
    assert (status, err) == (0, "")
    assert json.loads(out) == {
        "id": "MY_DEM",
        "title": "My DEM",
        "license": "proprietary",
        "items": 2,
    }

    status, out, _ = await admin(capsys, *ingest, "--no-cog")
    assert status == 0
    assert out.splitlines()[1].split() == ["MY_DEM", "2", "My", "DEM"]
    assert await listed_ids(capsys) == ["MY_DEM"]

    status, _, _ = await admin(capsys, "collections", "remove", "--id", "MY_DEM")
    assert status == 0
    assert await listed_ids(capsys) == []


async def test_a_folder_with_an_undated_file_registers_nothing(
    data_discovery: RunningDataDiscovery, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_tiff(tmp_path / "dem_a.tif", tags={"TIFFTAG_DATETIME": "2021:01:01 00:00:00"})
    write_tiff(tmp_path / "dem_b.tif")

    status, out, err = await admin(
        capsys, "collections", "ingest", "--id", "BROKEN", "--from", str(tmp_path)
    )

    assert (status, out) == (1, "")
    assert err.startswith(f"error: {tmp_path / 'dem_b.tif'}: no date")
    assert await listed_ids(capsys) == []


async def test_a_static_stac_collection_is_ingested(
    data_discovery: RunningDataDiscovery, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_tiff(tmp_path / "dem.tif")
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "dem-1",
        "bbox": [11.0, 46.0, 11.1, 46.1],
        "geometry": None,
        "properties": {"datetime": "2021-01-01T00:00:00Z"},
        "assets": {"elevation": {"href": "dem.tif", "roles": ["data"]}},
        "links": [],
    }
    (tmp_path / "dem-1.json").write_text(json.dumps(item))
    collection = {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": "STATIC_DEM",
        "description": "d",
        "license": "CC0-1.0",
        "extent": {
            "spatial": {"bbox": [[11.0, 46.0, 11.1, 46.1]]},
            "temporal": {"interval": [["2021-01-01T00:00:00Z", None]]},
        },
        "links": [{"rel": "item", "href": "./dem-1.json"}],
    }
    (tmp_path / "collection.json").write_text(json.dumps(collection))

    status, out, err = await admin(
        capsys, "collections", "ingest", "--from", str(tmp_path / "collection.json"), "--json"
    )

    assert (status, err) == (0, "")
    assert json.loads(out)["items"] == 1
    assert await listed_ids(capsys) == ["STATIC_DEM"]


async def test_removing_an_unknown_collection_fails(
    data_discovery: RunningDataDiscovery, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = await admin(capsys, "collections", "remove", "--id", "NOPE")

    assert status == 1
    assert err.startswith("error: CollectionNotFound:")
