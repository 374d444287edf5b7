"""Ingest into the catalog service (in-process, real MongoDB, NATS and S3)."""

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from conftest import Infrastructure
from eoplex_common.errors import BadRequest
from eoplex_common.s3 import connect_s3
from eoplex_common.settings import InfrastructureSettings
from eoplex_ingest.bootstrap import ensure_demo_collections
from eoplex_ingest.demo import CLOUDY_DATES
from eoplex_ingest.errors import IngestError
from eoplex_ingest.folder import NamingRules
from eoplex_ingest.ingest import FolderOptions, ingest_folder
from eoplex_ingest.register import register_collection
from eoplex_ingest.stac import COG_MEDIA_TYPE, CollectionMetadata
from eoplex_ingest.storage import LocalReference, S3AssetStore
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2 as pb
from tests.data_discovery_server import RunningDataDiscovery
from tests.stac_validation import validate_stac_collection, validate_stac_item

from .conftest import WriteTiff

RULES = NamingRules(datetime_pattern=r"_(?P<datetime>\d{8})_", band_pattern=r"_(?P<band>B\d\d)")
DATES = ("20220501", "20220506", "20220511")


@pytest.fixture
def store(infrastructure: Infrastructure) -> S3AssetStore:
    client = connect_s3(InfrastructureSettings(**infrastructure.env))
    return S3AssetStore(client=client, bucket=f"ingest-test-{secrets.token_hex(4)}")


def make_folder(root: Path, tiff: WriteTiff, *, epsg: int, origin: tuple[float, float]) -> Path:
    for day in DATES:
        for band in ("B04", "B08"):
            tiff(root / f"img_{day}_{band}.tif", epsg=epsg, origin=origin)
    return root


async def live_collection(
    data_discovery: RunningDataDiscovery, collection_id: str
) -> dict[str, Any]:
    request = pb.GetCollectionRequest(collection_id=collection_id)
    return dict(json.loads((await data_discovery.stub.GetCollection(request)).json))


async def live_items(
    data_discovery: RunningDataDiscovery, collection_id: str
) -> list[dict[str, Any]]:
    request = pb.SearchItemsRequest(collection_id=collection_id, limit=100)
    response = await data_discovery.stub.SearchItems(request)
    assert response.number_matched == len(response.items_json)
    return [json.loads(item) for item in response.items_json]


async def test_folders_in_two_crss_become_two_collections_with_items_in_s3(
    data_discovery: RunningDataDiscovery, store: S3AssetStore, tiff: WriteTiff, tmp_path: Path
) -> None:
    grids = {"UTM32": (32632, (675000.0, 5155000.0)), "UTM33": (32633, (280000.0, 5160000.0))}
    for collection_id, (epsg, origin) in grids.items():
        folder = make_folder(tmp_path / collection_id, tiff, epsg=epsg, origin=origin)
        metadata = CollectionMetadata(collection_id=collection_id, title="t", description="d")
        documents = ingest_folder(
            folder, metadata=metadata, options=FolderOptions(rules=RULES), store=store
        )
        assert (
            await register_collection(data_discovery.stub, documents.collection, documents.items)
            == 3
        )

    for collection_id, (epsg, _) in grids.items():
        collection = await live_collection(data_discovery, collection_id)
        validate_stac_collection(collection)
        assert collection["cube:dimensions"]["x"]["reference_system"] == epsg
        assert collection["cube:dimensions"]["bands"]["values"] == ["B04", "B08"]
        assert collection["extent"]["temporal"]["interval"] == [
            ["2022-05-01T00:00:00Z", "2022-05-11T00:00:00Z"]
        ]
        items = await live_items(data_discovery, collection_id)
        assert sorted(item["id"] for item in items) == [f"{collection_id}_{d}" for d in DATES]
        for item in items:
            # STAC wants a `collection` link next to `collection`; the gateway adds links.
            link = {"rel": "collection", "href": f"http://x/collections/{collection_id}"}
            validate_stac_item({**item, "links": [link]})
            href = item["assets"]["B08"]["href"]
            assert href == f"s3://{store.bucket}/{collection_id}/{item['id']}/B08.tif"
            assert item["assets"]["B08"]["type"] == COG_MEDIA_TYPE
            store.client.stat_object(store.bucket, href.split("/", 3)[3])


async def test_a_reingest_replaces_the_collection_without_duplicating_items(
    data_discovery: RunningDataDiscovery, tiff: WriteTiff, tmp_path: Path
) -> None:
    folder = make_folder(tmp_path, tiff, epsg=32632, origin=(675000.0, 5155000.0))
    for title in ("first", "second"):
        metadata = CollectionMetadata(collection_id="AGAIN", title=title, description="d")
        options = FolderOptions(rules=RULES, reference=True)
        documents = ingest_folder(
            folder, metadata=metadata, options=options, store=LocalReference()
        )
        await register_collection(data_discovery.stub, documents.collection, documents.items)

    assert (await live_collection(data_discovery, "AGAIN"))["title"] == "second"
    items = await live_items(data_discovery, "AGAIN")
    assert len(items) == 3
    assert items[0]["assets"]["B04"]["href"].startswith(str(tmp_path))
    assert items[0]["assets"]["B04"]["type"] == "image/tiff; application=geotiff"


async def test_a_failure_after_staging_leaves_the_catalog_unchanged(
    data_discovery: RunningDataDiscovery, tiff: WriteTiff, tmp_path: Path
) -> None:
    folder = make_folder(tmp_path, tiff, epsg=32632, origin=(675000.0, 5155000.0))
    metadata = CollectionMetadata(collection_id="KEEP", title="kept", description="d")
    options = FolderOptions(rules=RULES, reference=True)
    good = ingest_folder(folder, metadata=metadata, options=options, store=LocalReference())
    await register_collection(data_discovery.stub, good.collection, good.items)

    broken_item = {**good.items[1], "assets": {}}
    changed = {**good.collection, "title": "changed"}
    with pytest.raises(BadRequest):
        await register_collection(
            data_discovery.stub, changed, [good.items[0], broken_item], batch_size=1
        )

    assert (await live_collection(data_discovery, "KEEP"))["title"] == "kept"
    assert len(await live_items(data_discovery, "KEEP")) == 3


async def test_a_multi_band_file_cannot_be_referenced(tiff: WriteTiff, tmp_path: Path) -> None:
    tiff(tmp_path / "img_20220501_.tif", count=2, descriptions=("red", "nir"))
    metadata = CollectionMetadata(collection_id="MULTI", title="t", description="d")
    options = FolderOptions(rules=RULES, reference=True)

    with pytest.raises(IngestError, match="multi-band file must be split"):
        ingest_folder(tmp_path, metadata=metadata, options=options, store=LocalReference())


async def test_a_multi_band_file_is_split_into_one_cog_per_band(
    data_discovery: RunningDataDiscovery, store: S3AssetStore, tiff: WriteTiff, tmp_path: Path
) -> None:
    tiff(tmp_path / "img_20220501_.tif", count=2, descriptions=("red", "nir"), scale=0.5)
    metadata = CollectionMetadata(collection_id="MULTI", title="t", description="d")
    documents = ingest_folder(
        tmp_path, metadata=metadata, options=FolderOptions(rules=RULES), store=store
    )
    await register_collection(data_discovery.stub, documents.collection, documents.items)

    [item] = await live_items(data_discovery, "MULTI")
    assert sorted(item["assets"]) == ["nir", "red"]
    assert item["assets"]["nir"]["raster:bands"][0]["scale"] == 0.5
    stat = store.client.stat_object(store.bucket, "MULTI/MULTI_20220501/nir.tif")
    assert stat.size is not None and stat.size > 0


async def test_the_demo_collections_are_registered_once(
    data_discovery: RunningDataDiscovery, tmp_path: Path
) -> None:
    store = LocalReference()

    added = await ensure_demo_collections(data_discovery.stub, root=tmp_path, store=store)
    again = await ensure_demo_collections(data_discovery.stub, root=tmp_path, store=store)

    assert (added, again) == (["SENTINEL2_L2A_DEMO", "DEM_DEMO"], [])
    s2 = await live_collection(data_discovery, "SENTINEL2_L2A_DEMO")
    validate_stac_collection(s2)
    items = await live_items(data_discovery, "SENTINEL2_L2A_DEMO")
    assert len(items) == 25
    assert [i["properties"]["datetime"] for i in items][:2] == [
        "2022-05-01T00:00:00Z",
        "2022-05-06T00:00:00Z",
    ]
    assert sum(i["properties"]["eo:cloud_cover"] > 0 for i in items) == len(CLOUDY_DATES)
    assert items[0]["assets"]["SCL"]["proj:shape"] == [500, 500]
    assert items[0]["assets"]["SCL"]["type"] == COG_MEDIA_TYPE
    [dem] = await live_items(data_discovery, "DEM_DEMO")
    assert dem["properties"]["proj:epsg"] == 32633
