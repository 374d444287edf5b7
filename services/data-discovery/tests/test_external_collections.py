"""Collections served from external STAC APIs, through the catalog's gRPC API, against the
test STAC API server: register, describe, search upstream, refresh, access, remove."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from conftest import Infrastructure, fresh_database, started
from eoplex_common.errors import BadRequest, CollectionNotFound, UpstreamUnavailable
from eoplex_common.events import connect_nats
from eoplex_data_discovery.server import DataDiscoveryServer, build_data_discovery_server
from eoplex_data_discovery.settings import DataDiscoverySettings
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2 as pb
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2_grpc
from tests.data_discovery_server import collection_document, item_document, register
from tests.stac_api_data import (
    COLLECTION,
    Sentinel2Archive,
    make_sentinel2_archive,
    write_collection_file,
)
from tests.stac_api_server import StacApi, serve_stac_api

Stub = data_discovery_pb2_grpc.DataDiscoveryServiceStub
SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"


@dataclass
class Catalog:
    """The catalog in-process, a stub to it and its database."""

    server: DataDiscoveryServer
    stub: Stub
    database: AsyncDatabase[dict[str, Any]]


@pytest.fixture(scope="module")
def upstream(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Sentinel2Archive, StacApi]]:
    """The test archive (small tiles, without the collection of many items) and the STAC
    API server on it."""
    archive = make_sentinel2_archive(tmp_path_factory.mktemp("sentinel2"), size=32, many=0)
    with serve_stac_api(archive.folder) as running:
        yield archive, running


@pytest.fixture
def archive(upstream: tuple[Sentinel2Archive, StacApi]) -> Sentinel2Archive:
    return upstream[0]


@pytest.fixture
def api(upstream: tuple[Sentinel2Archive, StacApi]) -> Iterator[StacApi]:
    """The upstream server, its failures, counters and searches cleared after the test."""
    try:
        yield upstream[1]
    finally:
        upstream[1].reset()


@asynccontextmanager
async def serving_catalog(
    infrastructure: Infrastructure, **settings: Any
) -> AsyncIterator[Catalog]:
    async with fresh_database(infrastructure.mongodb_url, "test_external") as database:
        nats = await connect_nats(infrastructure.nats_url, name="external-test")
        try:
            server = await build_data_discovery_server(
                settings=DataDiscoverySettings(
                    listen="127.0.0.1:0",
                    shutdown_grace_seconds=0.1,
                    upstream_retries=0,
                    **settings,
                ),
                database=database,
                js=nats.jetstream(),
            )
            async with started(server, service="data-discovery") as channel:  # type: ignore[arg-type]
                yield Catalog(server=server, stub=Stub(channel), database=database)
        finally:
            await nats.drain()


@pytest.fixture
async def catalog(infrastructure: Infrastructure, tmp_path: Path) -> AsyncIterator[Catalog]:
    async with serving_catalog(infrastructure, credentials_dir=tmp_path) as running:
        yield running


async def add(stub: Stub, url: str, collection_id: str, **fields: Any) -> pb.CollectionSource:
    request = pb.RegisterStacApiRequest(
        url=url, upstream_collection=COLLECTION, collection_id=collection_id, **fields
    )
    return await stub.RegisterStacApiCollection(request)


async def document(stub: Stub, collection_id: str) -> dict[str, Any]:
    answer = await stub.GetCollection(pb.GetCollectionRequest(collection_id=collection_id))
    return dict(json.loads(answer.json))


async def all_items(stub: Stub, collection_id: str, **fields: Any) -> list[dict[str, Any]]:
    """Every item of the search, page after page, checking each page's count."""
    items, token = [], ""
    while True:
        request = pb.SearchItemsRequest(collection_id=collection_id, page_token=token, **fields)
        page = await stub.SearchItems(request)
        items += [json.loads(text) for text in page.items_json]
        token = page.next_page_token
        if not token:
            return items


async def test_an_earth_search_collection_is_described_and_searched_upstream(
    catalog: Catalog, api: StacApi, archive: Sentinel2Archive
) -> None:
    source = await add(
        catalog.stub, api.earth_search, "S2", overrides_json=json.dumps({"title": "S2 L2A"})
    )
    assert (source.kind, source.title, source.refresh_error) == ("stac-api", "S2 L2A", "")
    assert source.upstream == f"{api.earth_search}collections/{COLLECTION}"
    described = await document(catalog.stub, "S2")
    assert described["cube:dimensions"]["bands"]["values"] == ["red", "nir", "scl"]
    assert described["summaries"]["raster:bands"][0]["scale"] == 0.0001
    assert {"rel": "via", "href": source.upstream, "type": "application/json"} in described["links"]
    queryables = await catalog.stub.GetQueryables(pb.GetCollectionRequest(collection_id="S2"))
    assert "eo:cloud_cover" in json.loads(queryables.json)["properties"]

    api.reset()
    items = await all_items(catalog.stub, "S2", limit=3)
    assert len(items) == len(archive.items)
    first = await catalog.stub.SearchItems(pb.SearchItemsRequest(collection_id="S2", limit=3))
    assert first.number_matched == len(archive.items) and len(first.items_json) == 3
    for item in items:
        assert item["collection"] == "S2" and item["links"] == []
        red = item["assets"]["red"]
        assert red["proj:epsg"] in (32632, 32633) and len(red["raster:bands"]) == 1
    clear = json.dumps({"eo:cloud_cover": {"lte": 20}})
    last = archive.items[-1].datetime
    found = await all_items(
        catalog.stub, "S2", property_filter_json=clear, datetime_end=last, limit=2
    )
    expected = {
        item.datetime for item in archive.items if item.cloud_cover <= 20 and item.datetime < last
    }
    assert {item["properties"]["datetime"] for item in found} == expected
    assert "query" in api.searches()[-1]["parameters"]
    # The landing page was read at registration, not again for each search.
    assert "earth-search/v1/" not in api.stats()["by_path"]


async def test_planetary_computer_bands_are_renamed_and_signing_is_the_executors(
    catalog: Catalog, api: StacApi
) -> None:
    renames = {"B04": "red", "B08": "nir", "SCL": "scl"}
    await add(
        catalog.stub,
        api.pc,
        "PC",
        signing="planetary-computer",
        signing_url=api.sas,
        overrides_json=json.dumps({"bands": renames, "mosaic": "newest-first"}),
    )
    described = await document(catalog.stub, "PC")
    assert described["cube:dimensions"]["bands"]["values"] == ["red", "nir", "scl"]
    cloudy = json.dumps({"eo:cloud_cover": {"gt": 50}})
    page = await catalog.stub.SearchItems(
        pb.SearchItemsRequest(collection_id="PC", property_filter_json=cloudy, bands=["scl"])
    )
    items = [json.loads(text) for text in page.items_json]
    assert items and all(item["properties"]["eo:cloud_cover"] > 50 for item in items)
    assert page.number_matched == -1
    assert "filter" in api.searches()[-1]["parameters"]
    for item in items:
        assert set(item["assets"]) == {"red", "nir", "scl"}
        assert item["assets"]["nir"]["href"].startswith(f"{api.url}blob/")
        assert item["assets"]["nir"]["proj:epsg"] in (32632, 32633)
    access = await catalog.stub.GetCollectionAccess(pb.GetCollectionRequest(collection_id="PC"))
    assert (access.kind, access.signing, access.signing_url) == (
        "stac-api",
        "planetary-computer",
        api.sas,
    )
    assert access.mosaic == "newest-first"
    assert dict(access.gdal_options) == {"AWS_NO_SIGN_REQUEST": "YES", "AWS_REGION": "us-west-2"}


async def test_an_upstream_without_search_extensions_is_filtered_here(
    catalog: Catalog, api: StacApi, archive: Sentinel2Archive
) -> None:
    await add(catalog.stub, api.plain, "PLAIN")
    clear = json.dumps({"eo:cloud_cover": {"lt": 10}})
    found = await all_items(catalog.stub, "PLAIN", property_filter_json=clear, limit=3)
    assert sorted(i["properties"]["eo:cloud_cover"] for i in found) == sorted(
        item.cloud_cover for item in archive.items if item.cloud_cover < 10
    )
    page = await catalog.stub.SearchItems(
        pb.SearchItemsRequest(collection_id="PLAIN", property_filter_json=clear)
    )
    assert page.number_matched == -1
    searches = api.searches()
    assert searches and all(
        s["method"] == "GET" and "query" not in s["parameters"] for s in searches[1:]
    )


@asynccontextmanager
async def upstream_changes(
    infrastructure: Infrastructure, archive: Sentinel2Archive, *, api: str, collection_id: str
) -> AsyncIterator[tuple["asyncio.Queue[dict[str, str]]", Callable[[str, Any], None]]]:
    """The catalog events of `collection_id` as they come, and a function that changes a
    field of the upstream collection of `api`; the upstream restored after."""
    received: asyncio.Queue[dict[str, str]] = asyncio.Queue()

    async def on_event(message: Any) -> None:
        await received.put(json.loads(message.data))

    original = json.loads((archive.folder / "collections" / api / f"{COLLECTION}.json").read_text())

    def change(name: str, value: Any) -> None:
        collection = {**original["collection"], name: value}
        write_collection_file(archive.folder, api, collection, original["items"])

    nats = await connect_nats(infrastructure.nats_url, name="external-events")
    try:
        await nats.subscribe(f"catalog.collections.{collection_id}.>", cb=on_event)
        yield received, change
    finally:
        write_collection_file(archive.folder, api, original["collection"], original["items"])
        await nats.drain()


async def test_a_refresh_makes_a_new_version_only_when_the_upstream_changed(
    catalog: Catalog, infrastructure: Infrastructure, api: StacApi, archive: Sentinel2Archive
) -> None:
    refresh = pb.RefreshCollectionRequest(collection_id="S2")
    async with upstream_changes(
        infrastructure, archive, api="earth-search", collection_id="S2"
    ) as (events, change):
        await add(catalog.stub, api.earth_search, "S2")
        registered = await asyncio.wait_for(events.get(), timeout=10)
        await catalog.stub.RefreshCollection(refresh)
        first = pb.SearchItemsRequest(collection_id="S2", limit=1)
        token = (await catalog.stub.SearchItems(first)).next_page_token
        change("description", "Described anew.")
        await catalog.stub.RefreshCollection(refresh)
        refreshed = await asyncio.wait_for(events.get(), timeout=10)
        # The unchanged refresh published nothing: the next event is the change's.
        assert refreshed["version"] != registered["version"]
        assert (await document(catalog.stub, "S2"))["description"] == "Described anew."
        with pytest.raises(BadRequest, match="expired"):
            await catalog.stub.SearchItems(
                pb.SearchItemsRequest(collection_id="S2", page_token=token)
            )

        api.fail(r"^/earth-search/", 500)
        with pytest.raises(UpstreamUnavailable, match=r"127\.0\.0\.1"):
            await catalog.stub.RefreshCollection(refresh)
        sources = await catalog.stub.ListCollectionSources(pb.ListCollectionSourcesRequest())
        assert [s.collection_id for s in sources.sources] == ["S2"]
        assert "HTTP 500" in sources.sources[0].refresh_error
        assert (await document(catalog.stub, "S2"))["description"] == "Described anew."
        with pytest.raises(UpstreamUnavailable, match="HTTP 500"):
            await catalog.stub.SearchItems(pb.SearchItemsRequest(collection_id="S2"))


async def test_the_scheduled_refresh_picks_up_a_changed_upstream(
    infrastructure: Infrastructure, api: StacApi, archive: Sentinel2Archive
) -> None:
    async with (
        upstream_changes(infrastructure, archive, api="plain", collection_id="LATER") as (
            events,
            change,
        ),
        serving_catalog(infrastructure, refresh_seconds=0.2) as running,
    ):
        await add(running.stub, api.plain, "LATER")
        registered = await asyncio.wait_for(events.get(), timeout=10)
        change("title", "Retitled upstream")
        refreshed = await asyncio.wait_for(events.get(), timeout=30)
        assert refreshed["version"] != registered["version"]
        assert (await document(running.stub, "LATER"))["title"] == "Retitled upstream"


async def test_an_upstream_without_item_assets_is_described_by_its_first_item(
    catalog: Catalog, infrastructure: Infrastructure, api: StacApi, archive: Sentinel2Archive
) -> None:
    async with upstream_changes(infrastructure, archive, api="plain", collection_id="BARE") as (
        _,
        change,
    ):
        change("item_assets", {})
        await add(catalog.stub, api.plain, "BARE")
    described = await document(catalog.stub, "BARE")
    assert described["cube:dimensions"]["bands"]["values"] == ["red", "nir", "scl"]
    assert described["summaries"]["eo:bands"][0]["common_name"] == "red"


async def test_credentials_reach_only_the_executor(
    catalog: Catalog, api: StacApi, tmp_path: Path
) -> None:
    credentials = {"access_key_id": "AKIAEXAMPLE", "secret_access_key": SECRET}
    await add(
        catalog.stub,
        api.earth_search,
        "PAYS",
        s3_access="requester-pays",
        s3_endpoint="http://127.0.0.1:9000",
        credentials_json=json.dumps(credentials),
    )
    access = await catalog.stub.GetCollectionAccess(pb.GetCollectionRequest(collection_id="PAYS"))
    assert dict(access.gdal_options) == {
        "AWS_NO_SIGN_REQUEST": "NO",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_REQUEST_PAYER": "requester",
        "AWS_S3_ENDPOINT": "127.0.0.1:9000",
        "AWS_HTTPS": "NO",
        "AWS_VIRTUAL_HOSTING": "FALSE",
    }
    (tmp_path / "archive-keys").write_text(json.dumps({**credentials, "session_token": "TOKEN"}))
    await add(catalog.stub, api.earth_search, "MOUNTED", credentials_secret="archive-keys")
    mounted = await catalog.stub.GetCollectionAccess(
        pb.GetCollectionRequest(collection_id="MOUNTED")
    )
    assert mounted.gdal_options["AWS_SESSION_TOKEN"] == "TOKEN"
    assert mounted.gdal_options["AWS_REGION"] == "us-west-2"

    shown = [
        json.dumps(await document(catalog.stub, "PAYS")),
        str(await catalog.stub.ListCollectionSources(pb.ListCollectionSourcesRequest())),
        str(await catalog.stub.ListCollections(pb.ListCollectionsRequest())),
    ]
    for bad in ('{"access_key_id": 1}', "not json " + SECRET):
        with pytest.raises(BadRequest) as refused:
            await add(catalog.stub, api.earth_search, "BAD", credentials_json=bad)
        shown.append(str(refused.value))
    assert not any(SECRET in text for text in shown)
    with pytest.raises(BadRequest, match="'missing' are mounted"):
        await add(catalog.stub, api.earth_search, "BAD", credentials_secret="missing")
    with pytest.raises(BadRequest, match="needs credentials"):
        await add(catalog.stub, api.earth_search, "BAD", s3_access="requester-pays")

    upstreams = await catalog.stub.ListUpstreams(pb.ListUpstreamsRequest())
    assert list(upstreams.urls) == [api.earth_search]
    await catalog.stub.DeleteCollection(pb.DeleteCollectionRequest(collection_id="PAYS"))
    with pytest.raises(CollectionNotFound):
        await catalog.stub.GetCollectionAccess(pb.GetCollectionRequest(collection_id="PAYS"))
    assert await catalog.database["upstream_credentials"].count_documents({}) == 0


async def test_registration_replaces_an_ingested_collection_and_ingest_replaces_it_back(
    catalog: Catalog, api: StacApi
) -> None:
    await register(catalog.stub, collection_document("S2"), [item_document("ingested")])
    await add(catalog.stub, api.earth_search, "S2")
    items = await all_items(catalog.stub, "S2")
    assert items and "ingested" not in {item["id"] for item in items}
    await register(catalog.stub, collection_document("S2"), [item_document("again")])
    assert [item["id"] for item in await all_items(catalog.stub, "S2")] == ["again"]
    sources = await catalog.stub.ListCollectionSources(pb.ListCollectionSourcesRequest())
    assert [(s.kind, s.upstream) for s in sources.sources] == [("ingest", "")]
    access = await catalog.stub.GetCollectionAccess(pb.GetCollectionRequest(collection_id="S2"))
    assert (access.kind, dict(access.gdal_options)) == ("ingest", {})
    with pytest.raises(BadRequest, match="ingested"):
        await catalog.stub.RefreshCollection(pb.RefreshCollectionRequest(collection_id="S2"))


async def test_a_failing_or_wrong_upstream_is_a_clear_error(catalog: Catalog, api: StacApi) -> None:
    with pytest.raises(BadRequest, match="has no collection 'nothing'"):
        await catalog.stub.RegisterStacApiCollection(
            pb.RegisterStacApiRequest(url=api.earth_search, upstream_collection="nothing")
        )
    with pytest.raises(BadRequest, match=r"overrides\.bands"):
        await add(catalog.stub, api.earth_search, "S2", overrides_json='{"bands": {"B99": "x"}}')
    api.fail(r"^/earth-search/", 503, retry_after=1)
    with pytest.raises(UpstreamUnavailable, match=r"127\.0\.0\.1.*HTTP 503") as failed:
        await add(catalog.stub, api.earth_search, "S2")
    assert "Retry-After" not in failed.value.headers
    with pytest.raises(CollectionNotFound):
        await document(catalog.stub, "S2")
