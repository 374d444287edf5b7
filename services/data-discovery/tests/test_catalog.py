"""The catalog through its gRPC API: staged ingest, listing, paging, item search, events."""

import asyncio
import json
from typing import Any

import pytest

from eoplex_common.errors import BadRequest, CollectionNotFound
from eoplex_data_discovery.search import decode_token, encode_token
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2 as pb
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2_grpc
from tests.data_discovery_server import (
    RunningDataDiscovery,
    collection_document,
    item_document,
    register,
)

Stub = data_discovery_pb2_grpc.DataDiscoveryServiceStub


async def list_ids(catalog: Stub) -> list[str]:
    response = await catalog.ListCollections(pb.ListCollectionsRequest(limit=1000))
    return [json.loads(text)["id"] for text in response.collections_json]


async def search(catalog: Stub, collection_id: str, **fields: Any) -> list[str]:
    request = pb.SearchItemsRequest(collection_id=collection_id, **fields)
    response = await catalog.SearchItems(request)
    return [json.loads(text)["id"] for text in response.items_json]


async def stage(catalog: Stub, collection_id: str, item_ids: list[str]) -> str:
    """An ingest of the collection begun, with the items given staged; its version."""
    document = json.dumps(collection_document(collection_id))
    staged = await catalog.StageCollection(pb.StageCollectionRequest(collection_json=document))
    items = [json.dumps(item_document(item_id)) for item_id in item_ids]
    await catalog.StageItems(
        pb.StageItemsRequest(collection_id=collection_id, version=staged.version, items_json=items)
    )
    return staged.version


async def test_commit_makes_a_collection_visible_and_reingest_replaces_it(
    data_discovery: RunningDataDiscovery,
) -> None:
    stub = data_discovery.stub
    links = [
        {"rel": "license", "href": "https://example.org/license"},
        {"rel": "self", "href": "https://elsewhere.example/C1"},
    ]
    collection = collection_document("C1", links=links)
    await register(stub, collection, [item_document("a"), item_document("b")])
    document = json.loads(
        (await stub.GetCollection(pb.GetCollectionRequest(collection_id="C1"))).json
    )
    assert document["id"] == "C1"
    assert [link["rel"] for link in document["links"]] == ["license"]
    await register(
        stub, collection_document("C1", title="Second"), [item_document("b"), item_document("c")]
    )
    assert await list_ids(stub) == ["C1"]
    assert await search(stub, "C1") == ["b", "c"]
    document = json.loads(
        (await stub.GetCollection(pb.GetCollectionRequest(collection_id="C1"))).json
    )
    assert document["title"] == "Second"


async def test_staged_items_are_invisible_until_commit_and_abort_leaves_the_catalog_unchanged(
    data_discovery: RunningDataDiscovery,
) -> None:
    stub = data_discovery.stub
    await register(stub, collection_document("C1"), [item_document("old")])
    version = await stage(stub, "C1", ["new"])
    assert await search(stub, "C1") == ["old"]
    await stub.AbortCollection(pb.AbortCollectionRequest(collection_id="C1", version=version))
    assert await search(stub, "C1") == ["old"]
    with pytest.raises(BadRequest, match="no ingest"):
        await stub.CommitCollection(pb.CommitCollectionRequest(collection_id="C1", version=version))


async def test_a_commit_keeps_the_items_of_a_concurrent_ingest(
    data_discovery: RunningDataDiscovery,
) -> None:
    stub = data_discovery.stub
    version = await stage(stub, "C1", ["slow"])
    await register(stub, collection_document("C1"), [item_document("fast")])
    assert await search(stub, "C1") == ["fast"]
    committed = await stub.CommitCollection(
        pb.CommitCollectionRequest(collection_id="C1", version=version)
    )
    assert committed.items == 1
    assert await search(stub, "C1") == ["slow"]


async def test_an_invalid_item_fails_the_ingest_without_changing_the_catalog(
    data_discovery: RunningDataDiscovery,
) -> None:
    stub = data_discovery.stub
    staged = await stub.StageCollection(
        pb.StageCollectionRequest(collection_json=json.dumps(collection_document("C2")))
    )
    undated = item_document("x")
    del undated["properties"]["datetime"]
    without_assets = {**item_document("y"), "assets": {}}
    for item, reason in ((undated, "needs `datetime`"), (without_assets, "at least one asset")):
        request = pb.StageItemsRequest(
            collection_id="C2", version=staged.version, items_json=[json.dumps(item)]
        )
        with pytest.raises(BadRequest, match=reason):
            await stub.StageItems(request)
    assert await list_ids(stub) == []
    with pytest.raises(CollectionNotFound):
        await stub.GetCollection(pb.GetCollectionRequest(collection_id="C2"))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": "bad id!"}, "must match"),
        ({"id": "S2/L2A"}, "must match"),
        ({"license": None}, "needs `license`"),
        ({"cube:dimensions": None}, "needs `cube:dimensions`"),
    ],
)
async def test_an_invalid_collection_is_refused(
    data_discovery: RunningDataDiscovery, change: dict[str, Any], reason: str
) -> None:
    document = {**collection_document("C3"), **change}
    with pytest.raises(BadRequest, match=reason):
        await data_discovery.stub.StageCollection(
            pb.StageCollectionRequest(collection_json=json.dumps(document))
        )


async def test_delete_removes_the_collection_and_its_items(
    data_discovery: RunningDataDiscovery,
) -> None:
    stub = data_discovery.stub
    await register(stub, collection_document("C1"), [item_document("a")])
    await stub.DeleteCollection(pb.DeleteCollectionRequest(collection_id="C1"))
    assert await list_ids(stub) == []
    with pytest.raises(CollectionNotFound):
        await stub.SearchItems(pb.SearchItemsRequest(collection_id="C1"))
    with pytest.raises(CollectionNotFound):
        await stub.DeleteCollection(pb.DeleteCollectionRequest(collection_id="C1"))


async def test_pages_walk_every_collection_once_forwards_and_backwards(
    data_discovery: RunningDataDiscovery,
) -> None:
    stub = data_discovery.stub
    ids = [f"COLL_{n:03d}" for n in range(155)]
    await asyncio.gather(*(register(stub, collection_document(i), []) for i in ids))
    forward: list[list[str]] = []
    token = ""
    while True:
        page = await stub.ListCollections(pb.ListCollectionsRequest(limit=40, page_token=token))
        forward.append([json.loads(text)["id"] for text in page.collections_json])
        assert bool(page.prev_page_token) == (len(forward) > 1)
        token = page.next_page_token
        if not token:
            break
    assert [i for page_ids in forward for i in page_ids] == ids
    assert [len(p) for p in forward] == [40, 40, 40, 35]
    backward: list[list[str]] = []
    token = page.prev_page_token
    while token:
        page = await stub.ListCollections(pb.ListCollectionsRequest(limit=40, page_token=token))
        backward.append([json.loads(text)["id"] for text in page.collections_json])
        token = page.prev_page_token
    assert backward == forward[-2::-1]


@pytest.mark.parametrize("limit", [-1, 1001])
async def test_limit_outside_the_range_is_a_bad_request(
    data_discovery: RunningDataDiscovery, limit: int
) -> None:
    with pytest.raises(BadRequest, match="limit"):
        await data_discovery.stub.ListCollections(pb.ListCollectionsRequest(limit=limit))


@pytest.mark.parametrize(
    "cursor", [{"offset": -1}, {"after": 5}, {"after": "A", "before": "B"}, {"after": {"$gt": ""}}]
)
async def test_a_page_token_it_did_not_make_is_a_bad_request(
    data_discovery: RunningDataDiscovery, cursor: dict[str, Any]
) -> None:
    # Silently the first page before: a client would loop or miss collections.
    with pytest.raises(BadRequest, match="page token"):
        await data_discovery.stub.ListCollections(
            pb.ListCollectionsRequest(page_token=encode_token(cursor))
        )


async def test_an_item_page_token_with_a_negative_offset_is_a_bad_request(
    data_discovery: RunningDataDiscovery,
) -> None:
    stub = data_discovery.stub
    items = [item_document(f"i{n}", datetime=f"2022-05-0{n + 1}T00:00:00Z") for n in range(2)]
    await register(stub, collection_document("C1"), items)
    first = await stub.SearchItems(pb.SearchItemsRequest(collection_id="C1", limit=1))
    cursor = decode_token(first.next_page_token)
    for offset in (-1, True, "1"):
        token = encode_token({**cursor, "offset": offset})
        with pytest.raises(BadRequest, match="page token"):
            await stub.SearchItems(pb.SearchItemsRequest(collection_id="C1", page_token=token))


@pytest.mark.parametrize("bbox", [[0, 95, 1, 100], [-181, 0, 0, 1], [0, -91, 1, 0]])
async def test_a_bbox_beyond_longitudes_and_latitudes_is_a_bad_request(
    data_discovery: RunningDataDiscovery, bbox: list[float]
) -> None:
    await register(data_discovery.stub, collection_document("C1"), [])
    with pytest.raises(BadRequest, match="range"):
        await search(data_discovery.stub, "C1", bbox=bbox)


async def test_bbox_search_in_wgs84_and_utm_includes_touching_items(
    data_discovery: RunningDataDiscovery,
) -> None:
    stub = data_discovery.stub
    items = [
        item_document("inside", bbox=(11.0, 46.0, 11.1, 46.1)),
        item_document("touching", bbox=(11.2, 46.0, 11.3, 46.1)),
        item_document("far", bbox=(14.0, 46.0, 14.1, 46.1)),
    ]
    await register(stub, collection_document("C1"), items)
    wgs84 = await search(stub, "C1", bbox=[10.9, 45.9, 11.2, 46.2])
    assert wgs84 == ["inside", "touching"]
    # 11.05 E / 46.05 N lies in UTM zone 32N at about x 658 km, y 5102 km.
    utm = await search(stub, "C1", bbox=[657000, 5101000, 659000, 5103000], bbox_crs="EPSG:32632")
    assert utm == ["inside"]
    with pytest.raises(BadRequest, match="CRS"):
        await search(stub, "C1", bbox=[0, 0, 1, 1], bbox_crs="EPSG:999999")


async def test_datetime_interval_is_half_open(data_discovery: RunningDataDiscovery) -> None:
    stub = data_discovery.stub
    items = [
        item_document("may1", datetime="2022-05-01T00:00:00Z"),
        item_document("may2", datetime="2022-05-02T00:00:00Z"),
        item_document("may3", datetime="2022-05-03T00:00:00Z"),
    ]
    await register(stub, collection_document("C1"), items)
    found = await search(
        stub, "C1", datetime_start="2022-05-01T00:00:00Z", datetime_end="2022-05-03T00:00:00Z"
    )
    assert found == ["may1", "may2"]
    assert await search(stub, "C1", datetime_start="2022-05-02T00:00:00Z") == ["may2", "may3"]
    assert await search(stub, "C1", datetime_end="2022-05-02T00:00:00Z") == ["may1"]


async def test_band_and_property_filters(data_discovery: RunningDataDiscovery) -> None:
    stub = data_discovery.stub
    items = [
        item_document("clear", bands=("B02", "B04", "SCL"), **{"eo:cloud_cover": 5.0}),
        item_document("cloudy", bands=("B02", "B04", "SCL"), **{"eo:cloud_cover": 80.0}),
        item_document("no_scl", bands=("B02",), **{"eo:cloud_cover": 1.0}),
    ]
    await register(stub, collection_document("C1"), items)
    assert await search(stub, "C1", bands=["B04", "SCL"]) == ["clear", "cloudy"]
    low = json.dumps({"eo:cloud_cover": {"lte": 5}})
    assert await search(stub, "C1", property_filter_json=low) == ["clear", "no_scl"]
    with pytest.raises(BadRequest, match="unknown filter operators"):
        await search(stub, "C1", property_filter_json=json.dumps({"x": {"like": 1}}))


async def test_item_pages_and_number_matched(data_discovery: RunningDataDiscovery) -> None:
    stub = data_discovery.stub
    items = [item_document(f"i{n}", datetime=f"2022-05-{n + 1:02d}T00:00:00Z") for n in range(5)]
    await register(stub, collection_document("C1"), items)
    seen, token = [], ""
    while True:
        request = pb.SearchItemsRequest(collection_id="C1", limit=2, page_token=token)
        response = await stub.SearchItems(request)
        assert response.number_matched == 5
        seen += [json.loads(text)["id"] for text in response.items_json]
        token = response.next_page_token
        if not token:
            break
    assert seen == [f"i{n}" for n in range(5)]


async def test_queryables_describe_the_item_properties(
    data_discovery: RunningDataDiscovery,
) -> None:
    stub = data_discovery.stub
    items = [item_document("a", platform="sentinel-2a", **{"eo:cloud_cover": 5.0})]
    await register(stub, collection_document("C1"), items)
    response = await stub.GetQueryables(pb.GetCollectionRequest(collection_id="C1"))
    schema = json.loads(response.json)
    assert schema["$schema"] == "https://json-schema.org/draft/2019-09/schema"
    assert schema["properties"]["eo:cloud_cover"] == {
        "title": "Cloud Cover",
        "type": "number",
        "minimum": 0,
        "maximum": 100,
    }
    assert schema["properties"]["platform"]["type"] == "string"
    assert set(schema["properties"]) == {"datetime", "eo:cloud_cover", "platform"}


async def test_commit_and_delete_publish_catalog_events(
    data_discovery: RunningDataDiscovery,
) -> None:
    received: asyncio.Queue[tuple[str, dict[str, str]]] = asyncio.Queue()

    async def on_event(message: Any) -> None:
        await received.put((message.subject, json.loads(message.data)))

    subscription = await data_discovery.nats.subscribe("catalog.collections.>", cb=on_event)
    try:
        await register(data_discovery.stub, collection_document("v1.0"), [item_document("a")])
        await data_discovery.stub.DeleteCollection(pb.DeleteCollectionRequest(collection_id="v1.0"))
        updated = await asyncio.wait_for(received.get(), timeout=5)
        removed = await asyncio.wait_for(received.get(), timeout=5)
    finally:
        await subscription.unsubscribe()
    assert updated[0] == "catalog.collections.v1%2E0.updated"
    assert updated[1]["collection_id"] == "v1.0"
    assert removed == ("catalog.collections.v1%2E0.removed", {"collection_id": "v1.0"})
