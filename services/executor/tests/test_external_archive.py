"""load_collection of external collections whose COGs the test STAC API server serves over
HTTP (and the local S3 server), as the catalog translates them: two UTM zones in one
cube, processing baselines with other offsets, Planetary Computer signing, bands by
common name, and a provider's S3 credentials reaching GDAL for the reading thread only."""

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from pyproj import Transformer
from rasterio.env import get_gdal_config

from conftest import Infrastructure
from eoplex_common.errors import UpstreamUnavailable
from eoplex_common.s3 import connect_s3
from eoplex_common.settings import InfrastructureSettings
from eoplex_data_discovery.external import (
    StacApiSource,
    collection_bands,
    gdal_options,
    translate_collection,
    translate_item,
)
from eoplex_executor.engine.cube import RasterCube
from eoplex_executor.engine.environment import CollectionAccess
from eoplex_executor.io.clients import GrpcCatalog
from eoplex_executor.io.gdal import REMOTE_COG_OPTIONS, forget_remote_files, gdal_environment
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2 as pb
from services.executor.tests.catalog import LocalCatalog
from services.executor.tests.cubes import make_environment, run_graph
from tests.data_discovery_server import RunningDataDiscovery
from tests.stac_api_data import (
    COLLECTION,
    RESOLUTION,
    Sentinel2Archive,
    publish_to_s3,
    reflectance,
)
from tests.stac_api_server import StacApi, stac_api_fixtures

OURS = "S2_L2A"
BUCKET = "sentinel-cogs"


archive, server, api = stac_api_fixtures(size=64, many=0)


def translated_catalog(
    landing_page: str,
    access: CollectionAccess,
    *,
    upstream: str = COLLECTION,
    credentials: dict[str, str] | None = None,
    **source: Any,
) -> LocalCatalog:
    """The catalog's translation of the upstream collection and its items, held in memory
    as the stac-api collection `OURS` read with `access` (its GDAL options, when it has
    none, those the catalog derives from `source` and `credentials`)."""
    described = StacApiSource(url=landing_page, upstream_collection=upstream, **source)
    document = httpx.get(described.collection_url, timeout=30).raise_for_status().json()
    collection = translate_collection(document, collection_id=OURS, source=described)
    bands = collection_bands(collection, described)
    page = httpx.get(f"{described.collection_url}/items", params={"limit": 1000}, timeout=30)
    items = [
        translate_item(item, collection_id=OURS, bands=bands)
        for item in page.raise_for_status().json()["features"]
    ]
    if not access.gdal_options and "s3_access" in source:
        access = CollectionAccess(
            kind="stac-api", gdal_options=gdal_options(described, credentials)
        )
    return LocalCatalog({OURS: collection}, {OURS: items}, accesses={OURS: access})


def load(catalog: Any, tmp_path: Path, bands: list[str], collection_id: str = OURS) -> RasterCube:
    arguments = {
        "id": collection_id,
        "spatial_extent": None,
        "temporal_extent": None,
        "bands": bands,
    }
    node = {"process_id": "load_collection", "arguments": arguments, "result": True}
    cube = run_graph({"load": node}, make_environment(tmp_path, catalog=catalog))
    assert isinstance(cube, RasterCube)
    return cube


def centre_values(cube: RasterCube, archive: Sentinel2Archive, tile_index: int) -> np.ndarray:
    """The cube's values (t, bands) at the centre of the archive's tile."""
    tile = archive.tiles[tile_index]
    half = archive.size * RESOLUTION / 2
    to_cube = Transformer.from_crs(tile.epsg, cube.crs, always_xy=True)
    x, y = to_cube.transform(tile.west + half, tile.north - half)
    return np.asarray(cube.data.sel(x=x, y=y, method="nearest").values)


def expected(archive: Sentinel2Archive, tile_index: int, bands: list[str]) -> np.ndarray:
    return np.array(
        [[reflectance(band, tile_index, d) for band in bands] for d in range(len(archive.dates))]
    )


def test_two_utm_zones_and_two_processing_baselines_make_one_consistent_cube(
    api: StacApi, archive: Sentinel2Archive, tmp_path: Path
) -> None:
    catalog = translated_catalog(api.earth_search, CollectionAccess(kind="stac-api"))

    cube = load(catalog, tmp_path, ["red", "nir"])

    # The first item of the first date lies in zone 32; zone 33's are warped onto it.
    assert cube.crs == "EPSG:32632"
    assert cube.labels("t") == [f"{date}T00:00:00Z" for date in archive.dates]
    for tile_index in (0, 1):
        values = centre_values(cube, archive, tile_index)
        np.testing.assert_allclose(values, expected(archive, tile_index, ["red", "nir"]), atol=1e-6)
    assert api.stats()["by_path"]["files"]["requests"] > 0


def test_a_worker_fetches_an_assets_bytes_once(
    api: StacApi, archive: Sentinel2Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunk tasks and executions open the same files again and again: with a worker's
    GDAL settings, their headers and blocks come from the process's cache after the
    first read."""
    for name, value in REMOTE_COG_OPTIONS.items():
        monkeypatch.setenv(name, value)
    catalog = translated_catalog(api.earth_search, CollectionAccess(kind="stac-api"))
    forget_remote_files()
    first = load(catalog, tmp_path, ["red"]).data.values
    fetched = api.stats()["by_path"]["files"]["requests"]

    again = load(catalog, tmp_path, ["red"]).data.values

    np.testing.assert_array_equal(again, first)
    assert fetched > 0
    assert api.stats()["by_path"]["files"]["requests"] == fetched


def test_planetary_computer_assets_are_signed_when_read(
    api: StacApi, archive: Sentinel2Archive, tmp_path: Path
) -> None:
    access = CollectionAccess(kind="stac-api", signing="planetary-computer", signing_url=api.sas)
    catalog = translated_catalog(api.pc, access)

    # Bands by common name: the collection names them by Planetary Computer's asset keys.
    cube = load(catalog, tmp_path, ["nir", "red"])
    values = centre_values(cube, archive, 1)

    assert cube.labels("bands") == ["B08", "B04"]
    np.testing.assert_allclose(values, expected(archive, 1, ["nir", "red"]), atol=1e-6)
    routes = api.stats()["by_path"]
    assert routes["blob"]["requests"] > 0
    # One token for the container, whatever the number of assets and chunks.
    assert routes["pc/api/sas/v1/sign"]["requests"] <= 1


async def test_a_collection_registered_in_the_catalog_is_read_as_it_says(
    data_discovery: RunningDataDiscovery, api: StacApi, archive: Sentinel2Archive, tmp_path: Path
) -> None:
    """The real catalog's access, upstreams and translated items over gRPC."""
    registration = pb.RegisterStacApiRequest(
        url=api.pc,
        upstream_collection=COLLECTION,
        collection_id="S2_PC",
        signing="planetary-computer",
        signing_url=api.sas,
    )
    await data_discovery.stub.RegisterStacApiCollection(registration)
    catalog = GrpcCatalog(data_discovery.address, timeout_seconds=30)
    try:
        access = await asyncio.to_thread(catalog.access, "S2_PC")
        upstreams = await asyncio.to_thread(catalog.upstreams)
        cube = await asyncio.to_thread(load, catalog, tmp_path, ["red", "nir"], "S2_PC")
        values = await asyncio.to_thread(centre_values, cube, archive, 0)
    finally:
        catalog.close()

    assert (access.kind, access.signing, access.signing_url) == (
        "stac-api",
        "planetary-computer",
        api.sas,
    )
    assert [url.rstrip("/") for url in upstreams] == [api.pc.rstrip("/")]
    assert cube.labels("t") == [f"{date}T00:00:00Z" for date in archive.dates]
    np.testing.assert_allclose(values, expected(archive, 0, ["red", "nir"]), atol=1e-6)


def test_unsigned_planetary_computer_assets_are_the_providers_error(
    api: StacApi, tmp_path: Path
) -> None:
    catalog = translated_catalog(api.pc, CollectionAccess(kind="stac-api"))

    with pytest.raises(UpstreamUnavailable) as raised:
        load(catalog, tmp_path, ["red"]).data.compute()

    assert raised.value.params["upstream"] == api.url.removeprefix("http://").rstrip("/")
    assert raised.value.params["collection"] == OURS
    assert "403" in raised.value.params["reason"]


def test_an_asset_server_that_fails_is_the_providers_error_without_tokens(
    api: StacApi, tmp_path: Path
) -> None:
    access = CollectionAccess(kind="stac-api", signing="planetary-computer", signing_url=api.sas)
    catalog = translated_catalog(api.pc, access)
    api.fail("^/blob/", 500)
    # What earlier tests read of the same files is cached in this process.
    forget_remote_files()

    with pytest.raises(UpstreamUnavailable) as raised:
        load(catalog, tmp_path, ["red"]).data.compute()

    reason = raised.value.params["reason"]
    assert reason.startswith(f"cannot read the asset {api.url}blob/")
    assert "sig=" not in reason


@pytest.fixture(scope="module")
def s3_archive(
    server: StacApi, archive: Sentinel2Archive, infrastructure: Infrastructure
) -> Iterator[str]:
    """The archive's COGs on the local S3 server, as the collection `<COLLECTION>-s3`."""
    publish_to_s3(archive, connect_s3(InfrastructureSettings(**infrastructure.env)), BUCKET)
    yield f"{COLLECTION}-s3"


def test_a_providers_s3_credentials_reach_gdal_for_the_reading_thread_only(
    api: StacApi,
    archive: Sentinel2Archive,
    s3_archive: str,
    infrastructure: Infrastructure,
    tmp_path: Path,
) -> None:
    secret = infrastructure.s3_credentials.secret_key
    credentials = {
        "access_key_id": infrastructure.s3_credentials.access_key,
        "secret_access_key": secret,
    }
    catalog = translated_catalog(
        api.earth_search,
        CollectionAccess(kind="stac-api"),
        upstream=s3_archive,
        credentials=credentials,
        s3_access="credentials",
        s3_endpoint=infrastructure.s3_endpoint,
    )

    cube = load(catalog, tmp_path, ["red"])

    np.testing.assert_allclose(
        centre_values(cube, archive, 0), expected(archive, 0, ["red"]), atol=1e-6
    )
    # Neither the process environment (which UDF processes inherit) nor GDAL's
    # process-wide configuration holds them.
    assert secret not in os.environ.values()
    assert get_gdal_config("AWS_SECRET_ACCESS_KEY") != secret


@pytest.mark.parametrize("s3_access", ["anonymous", "requester-pays"])
def test_s3_assets_without_credentials_are_refused(
    api: StacApi,
    s3_archive: str,
    infrastructure: Infrastructure,
    tmp_path: Path,
    s3_access: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Also where the process environment holds the back-end's own S3 keys for the same
    server, as a worker's does: they never sign a provider's requests."""
    infrastructure_settings = InfrastructureSettings(**infrastructure.env)
    for name, value in gdal_environment(infrastructure_settings, cachemax_mb=64).items():
        monkeypatch.setenv(name, value)
    catalog = translated_catalog(
        api.earth_search,
        CollectionAccess(kind="stac-api"),
        upstream=s3_archive,
        s3_access=s3_access,
        s3_endpoint=infrastructure.s3_endpoint,
    )
    # What the test with credentials read of the same files is cached in this process.
    forget_remote_files()

    with pytest.raises(UpstreamUnavailable) as raised:
        load(catalog, tmp_path, ["red"]).data.compute()

    assert raised.value.params["upstream"] == f"s3://{BUCKET}"
