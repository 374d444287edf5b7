"""The test STAC API server itself: search, paging, query and filter, SAS-protected blobs,
byte ranges and injected failures, over real HTTP."""

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import rasterio

from conftest import Infrastructure
from eoplex_common.s3 import connect_s3
from eoplex_common.settings import InfrastructureSettings
from tests.stac_api_data import (
    MANY_COUNT,
    SCALE,
    Sentinel2Archive,
    digital_number,
    publish_to_s3,
    reflectance,
)
from tests.stac_api_server import StacApi, stac_api_fixtures


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as http:
        yield http


archive, server, api = stac_api_fixtures(many=MANY_COUNT)


def follow(client: httpx.Client, answer: dict[str, Any], first: dict[str, Any]) -> dict[str, Any]:
    """The page a `next` link leads to (GET href, or POST with its body, merged or not)."""
    link = next(link for link in answer["links"] if link["rel"] == "next")
    if link.get("method", "GET") == "GET":
        page: dict[str, Any] = client.get(link["href"]).raise_for_status().json()
        return page
    body = first | link["body"] if link.get("merge") else link["body"]
    page = client.post(link["href"], json=body).raise_for_status().json()
    return page


def all_pages(client: httpx.Client, url: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    answer = client.post(url, json=body).raise_for_status().json()
    pages = [answer]
    while any(link["rel"] == "next" for link in pages[-1]["links"]):
        pages.append(follow(client, pages[-1], body))
    return pages


@pytest.mark.parametrize("flavour", ["earth_search", "pc"])
def test_a_post_search_pages_through_ten_thousand_items(
    api: StacApi, client: httpx.Client, flavour: str
) -> None:
    body = {"collections": ["many"], "limit": 1000}
    pages = all_pages(client, getattr(api, flavour) + "search", body)
    ids = [feature["id"] for page in pages for feature in page["features"]]
    assert len(pages) == MANY_COUNT // 1000
    assert len(ids) == len(set(ids)) == MANY_COUNT
    assert pages[0].get("numberMatched") == (MANY_COUNT if flavour == "earth_search" else None)
    assert [page["numberReturned"] for page in pages] == [1000] * len(pages)


def test_a_get_search_pages_by_its_next_href_and_post_is_refused(
    api: StacApi, client: httpx.Client
) -> None:
    assert client.post(api.plain + "search", json={}).status_code == 405
    parameters = {"collections": "many", "limit": "400", "datetime": "2022-01-01T00:00:00Z/.."}
    answer = client.get(api.plain + "search", params=parameters).raise_for_status().json()
    seen = len(answer["features"])
    while any(link["rel"] == "next" for link in answer["links"]):
        answer = follow(client, answer, {})
        seen += len(answer["features"])
    assert seen == answer["context"]["matched"] == MANY_COUNT
    items = client.get(api.plain + "collections/many/items", params={"limit": 3}).json()
    assert [link["href"] for link in items["links"] if link["rel"] == "next"] == [
        api.plain + "collections/many/items?limit=3&token=next%3A3"
    ]


def test_datetime_intervals_are_closed_and_bbox_ids_and_limit_select(
    api: StacApi, client: httpx.Client, archive: Sentinel2Archive
) -> None:
    def ids(**parameters: Any) -> set[str]:
        body = {"collections": ["sentinel-2-l2a"], "limit": 100, **parameters}
        answer = client.post(api.earth_search + "search", json=body).raise_for_status().json()
        return {feature["id"] for feature in answer["features"]}

    first = archive.item("32", "2022-01-10")
    east = archive.item("33", "2022-01-10")
    every = ids()
    assert len(every) == len(archive.items) == 8
    on_first_day = ids(datetime=f"{first.datetime}/{east.datetime}")
    assert on_first_day == ids(datetime="../2022-01-10T23:59:59Z")
    assert len(on_first_day) == 2
    assert len(ids(datetime=f"{east.datetime}/..")) == 7
    assert len(ids(datetime=first.datetime)) == 1
    west_of_12 = ids(bbox=[11.9, 46.4, 11.99, 46.6])
    assert len(west_of_12) == 4 and all("32TQR" in name for name in west_of_12)
    assert ids(ids=sorted(west_of_12)[:2]) == set(sorted(west_of_12)[:2])
    for bad in ({"datetime": "yesterday"}, {"bbox": [1, 2, 3]}, {"limit": 0}):
        answer = client.post(api.earth_search + "search", json=bad)
        assert answer.status_code == 400, bad


def test_query_and_filter_are_offered_where_the_conformance_says(
    api: StacApi, client: httpx.Client, archive: Sentinel2Archive
) -> None:
    def conformance(url: str) -> str:
        return " ".join(client.get(url + "conformance").json()["conformsTo"])

    assert "#query" in conformance(api.earth_search) and "cql2-json" not in conformance(
        api.earth_search
    )
    assert "cql2-json" in conformance(api.pc) and "#query" not in conformance(api.pc)
    assert "#query" not in conformance(api.plain) and "cql2" not in conformance(api.plain)
    clear = {i.tile.mgrs + i.date.replace("-", "") for i in archive.items if i.cloud_cover <= 12}
    query = {"eo:cloud_cover": {"lte": 12}, "s2:processing_baseline": {"neq": "99.99"}}
    body = {"collections": ["sentinel-2-l2a"], "query": query}
    found = client.post(api.earth_search + "search", json=body).json()["features"]
    assert {f["properties"]["grid:code"][5:] + f["id"][10:18] for f in found} == clear
    cql = {
        "op": "and",
        "args": [
            {"op": "<=", "args": [{"property": "eo:cloud_cover"}, 12]},
            {
                "op": "not",
                "args": [{"op": "=", "args": ["03.01", {"property": "s2:processing_baseline"}]}],
            },
        ],
    }
    body = {"collections": ["sentinel-2-l2a"], "filter": cql, "filter-lang": "cql2-json"}
    found = client.post(api.pc + "search", json=body).json()["features"]
    expected = {
        i.tile.mgrs + i.date.replace("-", "")
        for i in archive.items
        if i.cloud_cover <= 12 and i.baseline == "04.00"
    }
    assert {f["properties"]["s2:mgrs_tile"] + f["id"][11:19] for f in found} == expected
    refused = [
        (api.earth_search, {"filter": cql}),
        (api.pc, {"query": query}),
        (api.pc, {"filter": {"op": "like", "args": [{"property": "id"}, "S2%"]}}),
        (api.earth_search, {"query": {"eo:cloud_cover": {"between": [1, 2]}}}),
    ]
    for url, parameters in refused:
        assert client.post(url + "search", json=parameters).status_code == 400, parameters
    assert client.get(api.plain + "search", params={"query": "{}"}).status_code == 400


def test_collections_mirror_the_public_item_assets(api: StacApi, client: httpx.Client) -> None:
    earth = client.get(api.earth_search + "collections/sentinel-2-l2a").json()
    red = earth["item_assets"]["red"]
    assert red["eo:bands"][0]["common_name"] == "red"
    assert red["raster:bands"][0] | {"scale": 0} == {
        "nodata": 0,
        "data_type": "uint16",
        "spatial_resolution": 10.0,
        "bits_per_sample": 15,
        "scale": 0,
        "offset": -0.1,
    }
    assert earth["item_assets"]["scl"]["raster:bands"][0]["data_type"] == "uint8"
    pc = client.get(api.pc + "collections/sentinel-2-l2a").json()
    assert list(pc["item_assets"]) == ["B04", "B08", "SCL"]
    assert pc["item_assets"]["B08"]["eo:bands"][0]["common_name"] == "nir"
    listed = client.get(api.pc + "collections").json()["collections"]
    assert [c["id"] for c in listed] == ["many", "sentinel-2-l2a"]
    assert client.get(api.pc + "collections/nothing").status_code == 404


def test_planetary_computer_blobs_need_a_valid_sas_token(
    api: StacApi, client: httpx.Client
) -> None:
    answer = client.get(api.pc + "search", params={"collections": "sentinel-2-l2a", "limit": 1})
    item = answer.json()["features"][0]
    assert "proj:code" in item["properties"] or "proj:epsg" in item["properties"]
    href = item["assets"]["B04"]["href"]
    assert href.startswith(api.url + "blob/sentinel2-l2a/")
    assert client.get(href).status_code == 403
    signed = client.get(api.sas + "/sign", params={"href": href}).json()
    assert set(signed) == {"href", "msft:expiry"}
    assert client.get(signed["href"], headers={"Range": "bytes=0-15"}).status_code == 206
    forged = signed["href"].replace("sig=", "sig=x")
    assert client.get(forged).status_code == 403
    api.set_sas_ttl(0)
    expired = client.get(api.sas + "/sign", params={"href": href}).json()["href"]
    assert client.get(expired).status_code == 403
    outside = client.get(api.sas + "/sign", params={"href": "https://example.com/a.tif"})
    assert outside.status_code == 400


def test_assets_answer_ranges_and_hold_the_documented_values(
    api: StacApi, client: httpx.Client, archive: Sentinel2Archive
) -> None:
    api.set_latency(1)
    for item in (archive.item("32", "2022-01-10"), archive.item("33", "2022-02-09")):
        url = api.url + item.paths["red"]
        whole = client.get(url).content
        part = client.get(url, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206
        assert part.headers["Content-Range"] == f"bytes 100-199/{len(whole)}"
        assert part.content == whole[100:200]
        assert client.get(url, headers={"Range": "bytes=-10"}).content == whole[-10:]
        with rasterio.open(f"/vsicurl/{url}") as dataset:
            values = dataset.read(1)
            assert dataset.crs.to_epsg() == item.tile.epsg
        number = digital_number("red", item.tile_index, item.date_index, item.date)
        assert np.all(values == number)
        found = client.get(
            api.earth_search + "search",
            params={"ids": f"S2B_{item.tile.mgrs}_{item.date.replace('-', '')}_0_L2A"},
        ).json()["features"][0]
        band = found["assets"]["red"]["raster:bands"][0]
        assert number * band["scale"] + band["offset"] == pytest.approx(
            reflectance("red", item.tile_index, item.date_index)
        )
        assert band["scale"] == SCALE
    stats = api.stats()
    assert stats["by_path"]["files"]["requests"] >= 6
    assert stats["requests"] == sum(route["requests"] for route in stats["by_path"].values())
    assert stats["bytes"] == sum(route["bytes"] for route in stats["by_path"].values())


def test_failures_are_injected_on_demand_until_reset(api: StacApi, client: httpx.Client) -> None:
    api.fail("/search$", 503, count=2, retry_after=3)
    url = api.earth_search + "search"
    answers = [client.get(url) for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].headers["Retry-After"] == "3"
    api.fail("^/earth-search/", 500)
    assert [client.get(api.earth_search).status_code for _ in range(3)] == [500, 500, 500]
    assert client.get(api.pc).status_code == 200
    api.reset()
    assert client.get(api.earth_search).status_code == 200
    assert api.stats()["requests"] == 1


def test_an_s3_collection_points_at_the_uploaded_cogs(
    api: StacApi, client: httpx.Client, archive: Sentinel2Archive, infrastructure: Infrastructure
) -> None:
    s3 = connect_s3(InfrastructureSettings(**infrastructure.env))
    urls = publish_to_s3(archive, s3, "sentinel-cogs")
    body = {"collections": ["sentinel-2-l2a-s3"], "limit": 100}
    found = client.post(api.earth_search + "search", json=body).json()["features"]
    assert len(found) == len(archive.items)
    item = archive.item("33", "2022-01-30")
    href = next(f for f in found if f["id"].startswith("S2B_33TUL_20220130"))["assets"]["nir"][
        "href"
    ]
    assert (
        href == urls[item.paths["nir"]] == "s3://sentinel-cogs/sentinel-2-l2a/33/2022-01-30/nir.tif"
    )
    bucket, key = href.removeprefix("s3://").split("/", 1)
    answer = s3.get_object(bucket, key)
    try:
        assert answer.read() == (archive.folder / item.paths["nir"]).read_bytes()
    finally:
        answer.close()
        answer.release_conn()


def test_items_mirror_the_public_fields_across_zones_and_baselines(
    api: StacApi, client: httpx.Client, archive: Sentinel2Archive
) -> None:
    body = {"collections": ["sentinel-2-l2a"], "limit": 100}
    earth = client.post(api.earth_search + "search", json=body).json()["features"]
    pc = client.post(api.pc + "search", json=body).json()["features"]
    assert {item["properties"]["proj:epsg"] for item in earth} == {32632, 32633}
    assert {item["properties"].get("proj:code") for item in pc} == {None, "EPSG:32633"}
    for item in earth:
        red = item["assets"]["red"]
        baseline = item["properties"]["s2:processing_baseline"]
        assert red["raster:bands"][0]["offset"] == (-0.1 if baseline == "04.00" else 0.0)
        assert red["proj:shape"] == [archive.size, archive.size]
        assert item["assets"]["scl"]["proj:shape"] == [archive.size // 2, archive.size // 2]
        assert item["properties"]["eo:cloud_cover"] in {i.cloud_cover for i in archive.items}
    assert {item["properties"]["s2:processing_baseline"] for item in pc} == {"03.01", "04.00"}
    assert all(set(item["assets"]) == {"B04", "B08", "SCL"} for item in pc)
    west = [item["bbox"] for item in earth if item["properties"]["proj:epsg"] == 32632]
    east = [item["bbox"] for item in earth if item["properties"]["proj:epsg"] == 32633]
    # Side by side across 12°E, up to the tilt of each UTM grid against the meridian.
    assert 11.999 < max(box[2] for box in west) <= 12.0 <= min(box[2] for box in east)
    assert max(box[0] for box in west) <= 12.0 and 11.999 < min(box[0] for box in east)
    one = earth[0]
    answer = client.get(api.earth_search + f"collections/sentinel-2-l2a/items/{one['id']}")
    assert answer.json()["id"] == one["id"]
    head = client.head(one["assets"]["red"]["href"])
    assert head.status_code == 200 and int(head.headers["Content-Length"]) > 0
