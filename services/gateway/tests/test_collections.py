"""`/collections` and below, through the real catalog service (real MongoDB and NATS).

Every JSON body is validated against openapi.yaml and the STAC JSON Schemas.
"""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from eoplex_common.errors import BadRequest
from eoplex_gateway.app import create_app
from eoplex_gateway.routes.collections import (
    build_collection,
    build_item_collection,
    parse_bbox,
    parse_datetime_interval,
)
from eoplex_gateway.settings import GatewaySettings
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2 as pb
from services.gateway.tests.conftest import Stack
from tests.data_discovery_server import (
    RunningDataDiscovery,
    collection_document,
    item_document,
    register,
)
from tests.openapi_validation import validate_error, validate_response
from tests.stac_validation import validate_stac_collection, validate_stac_item

API = "/openeo/1.2"
ROOT = f"http://testserver{API}/"


@pytest.fixture
async def http(
    stack: Stack, data_discovery: RunningDataDiscovery
) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway whose catalog is the real one (no credentials: discovery is public)."""
    addresses = stack.addresses.model_copy(
        update={"data_discovery_address": data_discovery.address}
    )
    app: FastAPI = create_app(settings=GatewaySettings(rpc_timeout_seconds=5), addresses=addresses)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def get_json(http: httpx.AsyncClient, url: str, *, template: str) -> dict[str, Any]:
    response = await http.get(url)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    if template:
        validate_response("GET", template, 200, body)
    return body


async def test_collections_are_paged_with_next_and_prev_links(
    http: httpx.AsyncClient, data_discovery: RunningDataDiscovery
) -> None:
    ids = [f"C{n}" for n in range(5)]
    for collection_id in ids:
        await register(data_discovery.stub, collection_document(collection_id), [])
    seen: list[str] = []
    url: str | None = f"{API}/collections?limit=2"
    pages = []
    while url:
        body = await get_json(http, url, template="/collections")
        for collection in body["collections"]:
            validate_stac_collection(collection)
            assert "summaries" not in collection and "cube:dimensions" not in collection
        seen += [collection["id"] for collection in body["collections"]]
        pages.append(body)
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    assert seen == ids
    assert [len(page["collections"]) for page in pages] == [2, 2, 1]
    prev = next(link["href"] for link in pages[-1]["links"] if link["rel"] == "prev")
    body = await get_json(http, prev, template="/collections")
    assert [c["id"] for c in body["collections"]] == ["C2", "C3"]


async def test_describe_collection_adds_links(
    http: httpx.AsyncClient, data_discovery: RunningDataDiscovery
) -> None:
    await register(data_discovery.stub, collection_document("S2"), [item_document("a")])
    body = await get_json(http, f"{API}/collections/S2", template="/collections/{collection_id}")
    validate_stac_collection(body)
    links = {link["rel"]: link["href"] for link in body["links"]}
    assert links["self"] == f"{ROOT}collections/S2"
    assert links["root"] == links["parent"] == ROOT
    assert links["items"] == f"{ROOT}collections/S2/items"
    assert links["license"] == "https://spdx.org/licenses/CC-BY-4.0.html"


async def test_unknown_collection_is_collection_not_found(http: httpx.AsyncClient) -> None:
    for suffix in ("", "/items", "/queryables"):
        response = await http.get(f"{API}/collections/NOPE{suffix}")
        assert response.status_code == 404
        assert response.json()["code"] == "CollectionNotFound"
        validate_error(response.json())


async def test_queryables_are_a_json_schema(
    http: httpx.AsyncClient, data_discovery: RunningDataDiscovery
) -> None:
    items = [item_document("a", platform="sentinel-2a", **{"eo:cloud_cover": 12.5})]
    await register(data_discovery.stub, collection_document("S2"), items)
    url = f"{API}/collections/S2/queryables"
    response = await http.get(url)
    assert response.headers["content-type"] == "application/schema+json"
    body = await get_json(http, url, template="/collections/{collection_id}/queryables")
    assert body["$id"] == f"{ROOT}collections/S2/queryables"
    assert body["properties"]["eo:cloud_cover"]["maximum"] == 100
    assert body["additionalProperties"] is False


async def test_items_are_filtered_by_bbox_and_datetime_and_paged(
    http: httpx.AsyncClient, data_discovery: RunningDataDiscovery
) -> None:
    items = [
        item_document(f"d{day}", datetime=f"2022-05-{day:02d}T10:00:00Z") for day in range(1, 6)
    ]
    items.append(item_document("far", bbox=(20.0, 50.0, 20.1, 50.1)))
    await register(data_discovery.stub, collection_document("S2"), items)
    query = "bbox=10,45,12,47&datetime=2022-05-02T10:00:00Z/2022-05-05T10:00:00Z&limit=2"
    url: str | None = f"{API}/collections/S2/items?{query}"
    seen = []
    while url:
        response = await http.get(url)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/geo+json"
        body = response.json()
        assert body["type"] == "FeatureCollection" and body["numberMatched"] == 4
        assert body["numberReturned"] == len(body["features"])
        for feature in body["features"]:
            validate_stac_item(feature)
            assert {"collection", "parent", "root"} <= {link["rel"] for link in feature["links"]}
        seen += [feature["id"] for feature in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    assert seen == ["d2", "d3", "d4", "d5"]  # the end of the interval is included
    for interval, found in [
        ("2022-05-03T10:00:00Z", ["d3"]),
        ("2022-05-03", ["d3"]),
        ("2022-05-02/2022-05-04", ["d2", "d3", "d4"]),
        ("../2022-05-02", ["d1", "d2"]),
        ("2022-05-04/..", ["d4", "d5"]),
    ]:
        response = await http.get(
            f"{API}/collections/S2/items?bbox=10,45,12,47&datetime={interval}"
        )
        assert [feature["id"] for feature in response.json()["features"]] == found, interval


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/collections?limit=0", "limit"),
        ("/collections?token=garbage", "token"),
        ("/collections/S2/items?bbox=1,2,3", "bbox"),
        ("/collections/S2/items?bbox=1,2,nan,4", "finite"),
        ("/collections/S2/items?datetime=yesterday", "RFC 3339"),
        ("/collections/S2/items?datetime=../..", "at least one bound"),
    ],
)
async def test_malformed_query_parameters_are_bad_requests(
    http: httpx.AsyncClient, data_discovery: RunningDataDiscovery, path: str, reason: str
) -> None:
    await register(data_discovery.stub, collection_document("S2"), [item_document("a")])
    response = await http.get(f"{API}{path}")
    assert response.status_code == 400
    assert response.json()["code"] == "BadRequest"
    assert reason in response.json()["message"]
    validate_error(response.json())


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        ("2022-05-01T00:00:00Z/..", ("2022-05-01T00:00:00+00:00", "")),
        ("../2022-05-01T00:00:00Z", ("", "2022-05-01T00:00:00.001000+00:00")),
        ("2022-05-01T00:00:00Z", ("2022-05-01T00:00:00+00:00", "2022-05-01T00:00:00.001000+00:00")),
        (
            "2022-05-01T10:00:00+02:00/2022-05-02T00:00:00Z",
            ("2022-05-01T10:00:00+02:00", "2022-05-02T00:00:00.001000+00:00"),
        ),
        ("2022-06-01/2022-06-30", ("2022-06-01T00:00:00+00:00", "2022-07-01T00:00:00+00:00")),
        ("2022-06-01", ("2022-06-01T00:00:00+00:00", "2022-06-02T00:00:00+00:00")),
        ("2022-06-01/..", ("2022-06-01T00:00:00+00:00", "")),
        ("../2022-06-30", ("", "2022-07-01T00:00:00+00:00")),
        (
            "2022-06-01/2022-06-01T12:00:00Z",
            ("2022-06-01T00:00:00+00:00", "2022-06-01T12:00:00.001000+00:00"),
        ),
        ("../9999-12-31", ("", "")),
        ("9999-12-31T23:59:59.999Z", ("9999-12-31T23:59:59.999000+00:00", "")),
    ],
)
def test_datetime_intervals_include_both_ends(interval: str, expected: tuple[str, str]) -> None:
    assert parse_datetime_interval(interval) == expected


@pytest.mark.parametrize(
    "interval", ["2022-06-01T00:00:00", "20220601", "2022-W22-1", "2022-13-01", "0000-01-01", ".."]
)
def test_datetimes_that_are_not_rfc_3339_are_refused(interval: str) -> None:
    with pytest.raises(BadRequest):
        parse_datetime_interval(interval)


def test_bbox_needs_four_numbers() -> None:
    assert parse_bbox("1,2,3.5,4") == [1.0, 2.0, 3.5, 4.0]
    with pytest.raises(BadRequest):
        parse_bbox("1,2,x,4")


def test_build_collection_keeps_own_links_and_adds_structural_ones() -> None:
    about = {"rel": "about", "href": "https://example.org"}
    document = {"id": "a/b", "license": "proprietary", "links": [about]}
    built = build_collection(document, root="https://h/openeo/1.2/")
    url = "https://h/openeo/1.2/collections/a%2Fb"
    assert built["links"] == [
        {"href": url, "rel": "self", "type": "application/json"},
        {"href": "https://h/openeo/1.2/", "rel": "root", "type": "application/json"},
        {"href": "https://h/openeo/1.2/", "rel": "parent", "type": "application/json"},
        {"href": f"{url}/items", "rel": "items", "type": "application/geo+json"},
        {
            "href": f"{url}/queryables",
            "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
            "type": "application/schema+json",
        },
        about,
    ]


@pytest.mark.parametrize(("matched", "expected"), [(3, {"numberMatched": 3}), (-1, {})])
def test_items_say_how_many_matched_only_when_the_catalog_knows(
    matched: int, expected: dict[str, int]
) -> None:
    # -1: an upstream STAC API that does not count its matches.
    response = pb.SearchItemsResponse(number_matched=matched)
    built = build_item_collection(response, root=ROOT, collection_id="S2", query={})
    assert {key: built[key] for key in ("numberMatched",) if key in built} == expected
    assert built["numberReturned"] == 0
