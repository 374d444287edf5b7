"""End to end: collections backed by an external STAC API, registered with `eoplex admin
collections add-stac-api` and used through the official `openeo` client, against the test
STAC API (`tests.stac_api_server`: Earth Search and Planetary Computer flavours over a
small two-zone Sentinel-2 archive of real COGs)."""

import json
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import openeo
import pytest
import rasterio
import xarray
from openeo.rest import OpenEoApiError
from pyproj import Transformer

from eoplex.stack import LocalStack
from eoplex_common.s3 import connect_s3
from eoplex_common.settings import InfrastructureSettings
from tests.stac_api_data import (
    COLLECTION,
    MANY,
    Sentinel2Archive,
    Tile,
    copies,
    make_sentinel2_archive,
    publish_to_s3,
    reflectance,
)
from tests.stac_api_server import StacApi, serve_stac_api
from tests.stack import admin, demo_connection, guarded_gateway

EARTH_SEARCH = "S2_EARTH_SEARCH"
PLANETARY_COMPUTER = "S2_PLANETARY_COMPUTER"
MANY_ITEMS = "S2_MANY_ITEMS"
SIZE = 64
TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Sentinel2Archive:
    return make_sentinel2_archive(tmp_path_factory.mktemp("stac-api"), size=SIZE)


@pytest.fixture(scope="module")
def stac_api(archive: Sentinel2Archive) -> Iterator[StacApi]:
    with serve_stac_api(archive.folder) as api:
        yield api


@pytest.fixture(scope="module")
def registered(local_stack: LocalStack, stac_api: StacApi) -> Iterator[None]:
    """The three collections, registered as an operator would, removed after the module."""
    add = ["collections", "add-stac-api"]
    admin(local_stack, *add, stac_api.earth_search, COLLECTION, "--id", EARTH_SEARCH)
    admin(
        local_stack,
        *(*add, stac_api.pc, COLLECTION, "--id", PLANETARY_COMPUTER),
        *("--signing", "planetary-computer", "--signing-url", stac_api.sas),
        *("--band", "B04=red", "--band", "B08=nir", "--band", "SCL=scl"),
    )
    admin(local_stack, *add, stac_api.earth_search, MANY, "--id", MANY_ITEMS)
    yield
    for collection_id in (EARTH_SEARCH, PLANETARY_COMPUTER, MANY_ITEMS):
        admin(local_stack, "collections", "remove", "--id", collection_id)


@pytest.fixture(scope="module")
def connection(local_stack: LocalStack, registered: None) -> openeo.Connection:
    return demo_connection(local_stack)


@pytest.fixture(autouse=True)
def untroubled(stac_api: StacApi) -> Iterator[None]:
    """Each test starts with an upstream without latency or failures."""
    stac_api.reset()
    yield
    stac_api.reset()


def wgs84_extent(tile: Tile, *, west: float = 0.2, east: float = 0.8) -> dict[str, float]:
    """The WGS84 box of a horizontal band of `tile` (fractions of its width), inside it."""
    width = SIZE * 10.0
    left, right = tile.west + west * width, tile.west + east * width
    south, north = tile.north - 0.8 * width, tile.north - 0.2 * width
    to_wgs84 = Transformer.from_crs(tile.epsg, 4326, always_xy=True)
    lon0, lat0, lon1, lat1 = to_wgs84.transform_bounds(left, south, right, north)
    return {"west": lon0, "south": lat0, "east": lon1, "north": lat1}


def open_netcdf(path: Path) -> xarray.Dataset:
    with xarray.open_dataset(path) as dataset:
        return dataset.load()


def test_the_operator_lists_the_registered_collections(
    local_stack: LocalStack, stac_api: StacApi, connection: openeo.Connection
) -> None:
    # `connection` waits for the demo collections, ingested ones, to be listed as well.
    listed = {c["id"]: c for c in json.loads(admin(local_stack, "collections", "list", "--json"))}

    assert listed[EARTH_SEARCH]["kind"] == "stac-api"
    assert listed[EARTH_SEARCH]["upstream"] == f"{stac_api.earth_search}collections/{COLLECTION}"
    assert listed[PLANETARY_COMPUTER]["upstream"] == f"{stac_api.pc}collections/{COLLECTION}"
    assert listed[EARTH_SEARCH]["refresh_error"] == ""
    assert listed["SENTINEL2_L2A_DEMO"]["kind"] == "ingest"


def test_requester_pays_without_credentials_is_refused(
    local_stack: LocalStack, stac_api: StacApi
) -> None:
    with pytest.raises(subprocess.CalledProcessError) as refused:
        admin(
            local_stack,
            *("collections", "add-stac-api", stac_api.earth_search, COLLECTION),
            *("--id", "S2_PAYING", "--s3-access", "requester-pays"),
        )
    assert refused.value.returncode == 2
    assert b"--s3-access requester-pays needs --credentials-file" in refused.value.stderr


def test_the_collection_is_described_in_our_conventions(
    connection: openeo.Connection, stac_api: StacApi
) -> None:
    for collection_id in (EARTH_SEARCH, PLANETARY_COMPUTER):
        collection = connection.describe_collection(collection_id)

        assert collection["id"] == collection_id
        assert collection["cube:dimensions"]["bands"]["values"] == ["red", "nir", "scl"]
        common_names = [band.get("common_name") for band in collection["summaries"]["eo:bands"]]
        assert common_names == ["red", "nir", None]
        raster = collection["summaries"]["raster:bands"]
        assert [band["data_type"] for band in raster] == ["uint16", "uint16", "uint8"]
    via = [link["href"] for link in collection["links"] if link["rel"] == "via"]
    assert via == [f"{stac_api.pc}collections/{COLLECTION}"]


def test_items_are_searched_upstream_and_paged(
    connection: openeo.Connection, archive: Sentinel2Archive
) -> None:
    pages = list(connection.collection_items(EARTH_SEARCH, limit=3))

    items = [item for page in pages for item in page["features"]]
    assert len(pages) == 3
    assert len(items) == len({item["id"] for item in items}) == len(archive.items)
    for item in items:
        assert item["collection"] == EARTH_SEARCH
        red = item["assets"]["red"]
        assert red["proj:epsg"] in (32632, 32633)
        assert red["raster:bands"][0]["scale"] == 0.0001
        baseline = item["properties"]["s2:processing_baseline"]
        assert red["raster:bands"][0]["offset"] == (-0.1 if baseline == "04.00" else 0.0)


def test_thousands_of_upstream_items_page_through(
    connection: openeo.Connection, archive: Sentinel2Archive
) -> None:
    originals = json.loads(
        (archive.folder / "collections" / "earth-search" / f"{COLLECTION}.json").read_text()
    )["items"]
    # An items search includes the whole day of its end (docs/discovery.md), as for an
    # ingested collection, although the upstream was asked for a closed interval.
    start = datetime.fromisoformat("2022-03-01T00:00:00+00:00")
    end = datetime.fromisoformat("2022-12-02T00:00:00+00:00")
    expected = {
        item["id"]
        for item in copies(originals, 10_000, MANY)
        if start <= datetime.fromisoformat(item["properties"]["datetime"]) < end
    }

    pages = list(
        connection.collection_items(
            MANY_ITEMS, temporal_extent=["2022-03-01", "2022-12-01"], limit=500
        )
    )

    found = [item["id"] for page in pages for item in page["features"]]
    assert len(expected) > 2000
    assert len(found) == len(set(found))
    assert set(found) == expected
    assert len(pages) >= len(expected) // 500


def test_load_collection_filters_by_cloud_cover_and_agrees_across_processing_baselines(
    connection: openeo.Connection, archive: Sentinel2Archive, tmp_path: Path
) -> None:
    cube = connection.load_collection(
        EARTH_SEARCH,
        spatial_extent=wgs84_extent(archive.tiles[0]),
        temporal_extent=["2022-01-01", "2022-03-01"],
        bands=["red", "nir"],
        properties={"eo:cloud_cover": lambda v: v <= 20},
    )
    cube.download(tmp_path / "cube.nc", format="netCDF")

    dataset = open_netcdf(tmp_path / "cube.nc")
    # Tile 32's cloud cover is 5, 40, 12, 70 on the four dates: the first and third pass,
    # one of baseline 03.01 (no offset), one of 04.00 (DN + 1000, offset -0.1).
    dates = [str(day)[:10] for day in dataset["t"].values]
    assert dates == ["2022-01-10", "2022-01-30"]
    assert [archive.item("32", date).baseline for date in dates] == ["03.01", "04.00"]
    for band in ("red", "nir"):
        for index, date_index in enumerate((0, 2)):
            values = dataset[band].isel(t=index).values
            assert np.all(np.isfinite(values))
            np.testing.assert_allclose(values, reflectance(band, 0, date_index), atol=TOLERANCE)


def test_two_utm_zones_are_read_onto_the_first_items_grid(
    connection: openeo.Connection, archive: Sentinel2Archive, tmp_path: Path
) -> None:
    west_tile, east_tile = archive.tiles
    extent = {
        "west": wgs84_extent(west_tile, west=0.5)["west"],
        "east": wgs84_extent(east_tile, east=0.5)["east"],
        "south": wgs84_extent(west_tile)["south"],
        "north": wgs84_extent(west_tile)["north"],
    }
    cube = connection.load_collection(
        EARTH_SEARCH,
        spatial_extent=extent,
        temporal_extent=["2022-01-10", "2022-01-11"],
        bands=["red"],
    )
    cube.download(tmp_path / "zones.tif", format="GTiff")

    with rasterio.open(tmp_path / "zones.tif") as result:
        assert result.crs.to_epsg() == west_tile.epsg
        values = result.read(1)
    finite = values[np.isfinite(values)]
    west_value, east_value = reflectance("red", 0, 0), reflectance("red", 1, 0)
    assert np.all(
        np.isclose(finite, west_value, atol=TOLERANCE)
        | np.isclose(finite, east_value, atol=TOLERANCE)
    )
    # The left columns come from the western tile, the right ones from the eastern tile.
    np.testing.assert_allclose(values[:, 0], west_value, atol=TOLERANCE)
    np.testing.assert_allclose(values[:, -1], east_value, atol=TOLERANCE)


def test_planetary_computer_assets_are_read_with_signed_urls(
    connection: openeo.Connection, archive: Sentinel2Archive, stac_api: StacApi, tmp_path: Path
) -> None:
    cube = connection.load_collection(
        PLANETARY_COMPUTER,
        spatial_extent=wgs84_extent(archive.tiles[1]),
        temporal_extent=["2022-01-20", "2022-01-21"],
        bands=["red", "nir"],
    )
    cube.download(tmp_path / "pc.nc", format="netCDF")

    dataset = open_netcdf(tmp_path / "pc.nc")
    for band in ("red", "nir"):
        np.testing.assert_allclose(
            dataset[band].isel(t=0).values, reflectance(band, 1, 1), atol=TOLERANCE
        )
    # The blobs answer 403 to an unsigned URL: these values were read with a SAS token.
    assert stac_api.stats()["by_path"]["blob"]["requests"] >= 1


def test_s3_assets_are_read_with_their_collections_credentials_only(
    local_stack: LocalStack,
    connection: openeo.Connection,
    archive: Sentinel2Archive,
    stac_api: StacApi,
    tmp_path: Path,
) -> None:
    # The archive's COGs in a bucket of the stack's own S3 server, which refuses anonymous
    # reads; the upstream's items name them as s3:// URLs.
    env = local_stack.env
    settings = InfrastructureSettings(
        s3_endpoint=env["OPENEO_S3_ENDPOINT"],
        s3_access_key=env["OPENEO_S3_ACCESS_KEY"],
        s3_secret_key=env["OPENEO_S3_SECRET_KEY"],
    )
    publish_to_s3(archive, connect_s3(settings), "eoplex-collections")
    keys = tmp_path / "keys.json"
    secret = settings.s3_secret_key
    keys.write_text(
        json.dumps({"access_key_id": settings.s3_access_key, "secret_access_key": secret})
    )
    add = ["collections", "add-stac-api", stac_api.earth_search, f"{COLLECTION}-s3"]
    add += ["--s3-endpoint", settings.s3_endpoint, "--s3-region", settings.s3_region]
    admin(local_stack, *add, "--id", "S2_S3_KEYS", "--credentials-file", str(keys))
    admin(local_stack, *add, "--id", "S2_S3_ANONYMOUS")

    def load(collection_id: str) -> xarray.Dataset:
        cube = connection.load_collection(
            collection_id,
            spatial_extent=wgs84_extent(archive.tiles[0]),
            temporal_extent=["2022-02-09", "2022-02-10"],
            bands=["nir"],
        )
        cube.download(tmp_path / f"{collection_id}.nc", format="netCDF")
        return open_netcdf(tmp_path / f"{collection_id}.nc")

    try:
        dataset = load("S2_S3_KEYS")
        with pytest.raises(OpenEoApiError) as refused:
            load("S2_S3_ANONYMOUS")
    finally:
        for collection_id in ("S2_S3_KEYS", "S2_S3_ANONYMOUS"):
            admin(local_stack, "collections", "remove", "--id", collection_id)

    np.testing.assert_allclose(
        dataset["nir"].isel(t=0).values, reflectance("nir", 0, 3), atol=TOLERANCE
    )
    assert (refused.value.http_status_code, refused.value.code) == (502, "UpstreamUnavailable")
    assert "s3://eoplex-collections" in refused.value.message
    assert secret not in refused.value.message


def test_an_upstream_that_is_down_is_a_clear_error(
    local_stack: LocalStack,
    connection: openeo.Connection,
    archive: Sentinel2Archive,
    stac_api: StacApi,
) -> None:
    host = stac_api.url.removeprefix("http://").rstrip("/")
    # Every search fails, at once each time (Retry-After: 0), after the catalog's retries.
    stac_api.fail(r"^/earth-search/v1/search", 500, count=None, retry_after=0)

    # The client retries a 502 of a GET three times with its own backoff (5 s, 10 s):
    # this connection reports it at once.
    impatient = openeo.connect(local_stack.api_url, retry=False)
    with pytest.raises(OpenEoApiError) as items_error:
        list(impatient.collection_items(EARTH_SEARCH, temporal_extent=["2021-05-01", None]))
    cube = connection.load_collection(
        EARTH_SEARCH,
        spatial_extent=wgs84_extent(archive.tiles[0]),
        temporal_extent=["2021-06-01", "2022-01-15"],
        bands=["red"],
    )
    with pytest.raises(OpenEoApiError) as load_error:
        cube.download(format="netCDF")

    for error in (items_error.value, load_error.value):
        assert (error.http_status_code, error.code) == (502, "UpstreamUnavailable")
        assert f"The data provider {host} of collection '{EARTH_SEARCH}' failed" in error.message
        assert "HTTP 500" in error.message


def test_load_stac_reaches_a_private_stac_api_only_once_it_is_registered(
    local_stack: LocalStack, archive: Sentinel2Archive, tmp_path: Path, registered: None
) -> None:
    with (
        serve_stac_api(archive.folder) as other_api,
        guarded_gateway(local_stack, log_dir=tmp_path) as guarded_api,
    ):
        guarded = openeo.connect(guarded_api)
        guarded.authenticate_basic(local_stack.demo_user, local_stack.demo_password)
        url = f"{other_api.earth_search}collections/{COLLECTION}"

        def load() -> Any:
            cube = guarded.load_stac(
                url,
                spatial_extent=wgs84_extent(archive.tiles[0]),
                temporal_extent=["2022-01-10", "2022-01-11"],
                bands=["red"],
            )
            return cube.download(format="netCDF")

        with pytest.raises(OpenEoApiError) as refused:
            load()
        assert refused.value.code == "ProcessParameterInvalid"
        assert "127.0.0.1" in refused.value.message

        admin(local_stack, "collections", "add-stac-api", other_api.earth_search, COLLECTION)
        try:
            assert load()
        finally:
            admin(local_stack, "collections", "remove", "--id", COLLECTION)
