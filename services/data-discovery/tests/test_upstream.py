"""The catalog's client of external STAC APIs: query translation, local filtering, retries
and caching; the pure parts alone, the client against the test STAC API server."""

import logging
import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from eoplex_common.errors import BadRequest, UpstreamUnavailable
from eoplex_data_discovery.search import decode_token, encode_token
from eoplex_data_discovery.upstream import (
    PropertyFilter,
    SearchCache,
    SearchPage,
    StacApiClient,
    UpstreamRequest,
    UpstreamSettings,
    as_get,
    backoff_delay,
    datetime_interval,
    matches_locally,
    parse_property_filter,
    retried,
    search_conditions,
    upstream_host,
)
from tests.stac_api_data import (
    COLLECTION,
    MANY,
    MANY_COUNT,
    Sentinel2Archive,
)
from tests.stac_api_server import StacApi, stac_api_fixtures

QUERY_V1 = "https://api.stacspec.org/v1.0.0/item-search#query"
QUERY_RC = "https://api.stacspec.org/v1.0.0-rc.1/item-search#query"
FILTER_RC = "https://api.stacspec.org/v1.0.0-rc.2/item-search#filter"
CQL2_JSON = "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json"
CORE = "https://api.stacspec.org/v1.0.0/core"
AS_QUERY = {"query": {"eo:cloud_cover": {"lte": 20}, "platform": {"eq": "s2a"}}}


def item(properties: dict[str, Any], assets: tuple[str, ...] = ("red",)) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": "x",
        "properties": properties,
        "assets": {key: {"href": f"https://example.org/{key}.tif"} for key in assets},
    }


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- property conditions ------------------------------------------------------------------


def test_property_filters_are_parsed_and_malformed_ones_refused() -> None:
    assert parse_property_filter("") == {}
    assert parse_property_filter('{"eo:cloud_cover": {"lte": 20}}') == {
        "eo:cloud_cover": {"lte": 20}
    }
    for bad in ("{", "[1]", '{"a": {"like": 1}}', '{"a": 3}'):
        with pytest.raises(BadRequest):
            parse_property_filter(bad)


@pytest.mark.parametrize(
    ("conformance", "expected"),
    [
        ([CORE, QUERY_V1], AS_QUERY),
        ([CORE, QUERY_RC, CQL2_JSON], AS_QUERY),
        (
            [CORE, CQL2_JSON],
            {
                "filter": {
                    "op": "and",
                    "args": [
                        {"op": "<=", "args": [{"property": "eo:cloud_cover"}, 20]},
                        {"op": "=", "args": [{"property": "platform"}, "s2a"]},
                    ],
                },
                "filter-lang": "cql2-json",
            },
        ),
        ([CORE], {}),
    ],
)
def test_conditions_go_upstream_in_the_language_its_conformance_offers(
    conformance: list[str], expected: dict[str, Any]
) -> None:
    conditions = {"eo:cloud_cover": {"lte": 20}, "platform": {"eq": "s2a"}}
    assert search_conditions(conditions, conformance) == expected


def test_one_condition_is_one_cql2_comparison_and_the_filter_extension_suffices() -> None:
    assert search_conditions({"eo:cloud_cover": {"gt": 5}}, [FILTER_RC]) == {
        "filter": {"op": ">", "args": [{"property": "eo:cloud_cover"}, 5]},
        "filter-lang": "cql2-json",
    }
    assert search_conditions({}, [QUERY_V1]) == {}


# --- local filtering ----------------------------------------------------------------------


def test_local_property_conditions_compare_like_the_catalog_does() -> None:
    cloudy = item({"datetime": "2023-06-01T10:00:00Z", "eo:cloud_cover": 35.5})
    assert matches_locally(cloudy, property_filter={"eo:cloud_cover": {"gt": 30, "lte": 40}})
    assert not matches_locally(cloudy, property_filter={"eo:cloud_cover": {"lte": 20}})
    assert not matches_locally(cloudy, property_filter={"eo:cloud_cover": {"lte": "40"}})
    assert not matches_locally(cloudy, property_filter={"platform": {"eq": "s2a"}})
    assert matches_locally(cloudy, property_filter={"platform": {"neq": "s2a"}})
    assert matches_locally(cloudy, property_filter={"eo:cloud_cover": {"neq": 20}})
    flagged = item({"datetime": "2023-06-01T10:00:00Z", "flag": True})
    assert not matches_locally(flagged, property_filter={"flag": {"eq": 1}})
    assert matches_locally(flagged, property_filter={"flag": {"eq": True}})
    assert not matches_locally({"type": "Feature"}, property_filter={})


def test_the_interval_is_half_open_and_spans_overlap() -> None:
    start, end = at("2023-06-01T00:00:00Z"), at("2023-06-30T00:00:00Z")
    inside = item({"datetime": "2023-06-01T00:00:00Z"})
    at_end = item({"datetime": "2023-06-30T00:00:00Z"})
    span = item(
        {
            "datetime": None,
            "start_datetime": "2023-05-20T00:00:00Z",
            "end_datetime": "2023-06-01T00:00:00Z",
        }
    )
    timeless = item({"datetime": None})
    assert matches_locally(inside, start=start, end=end)
    assert not matches_locally(at_end, start=start, end=end)
    assert matches_locally(at_end, start=start)
    assert matches_locally(span, start=start, end=end)
    assert not matches_locally(span, start=at("2023-06-01T00:00:01Z"))
    assert not matches_locally(timeless, end=end)
    assert matches_locally(timeless)


def test_every_requested_band_needs_an_asset() -> None:
    two = item({"datetime": "2023-06-01T00:00:00Z"}, assets=("red", "nir"))
    assert matches_locally(two, bands=["red", "nir"])
    assert not matches_locally(two, bands=["red", "scl"])


# --- requests, retries, cache -------------------------------------------------------------


def test_the_datetime_parameter_is_a_closed_interval_with_open_ends() -> None:
    start = datetime(2023, 6, 1, 2, tzinfo=UTC).astimezone()
    assert datetime_interval(start, None) == "2023-06-01T02:00:00Z/.."
    assert datetime_interval(None, at("2023-06-30T00:00:00+02:00")) == "../2023-06-29T22:00:00Z"
    assert datetime_interval(None, None) is None


def test_a_post_search_as_get_parameters() -> None:
    body = {
        "collections": ["sentinel-2-l2a"],
        "bbox": [11.5, 46.0, 12.5, 47.0],
        "datetime": "2023-06-01T00:00:00Z/..",
        "limit": 10,
        "query": {"eo:cloud_cover": {"lte": 20}},
    }
    request = as_get(UpstreamRequest("POST", "https://stac.example/v1/search", body))
    assert request.method == "GET" and request.body is None
    assert request.url == (
        "https://stac.example/v1/search?collections=sentinel-2-l2a&bbox=11.5%2C46.0%2C12.5%2C47.0"
        "&datetime=2023-06-01T00%3A00%3A00Z%2F..&limit=10"
        "&query=%7B%22eo%3Acloud_cover%22%3A%7B%22lte%22%3A20%7D%7D"
    )


def test_backoff_doubles_honours_retry_after_and_is_capped() -> None:
    assert [backoff_delay(n, None, first=0.5, most=3) for n in range(5)] == [0.5, 1, 2, 3, 3]
    assert backoff_delay(0, "2", first=0.5, most=30) == 2
    assert backoff_delay(0, "120", first=0.5, most=30) == 30
    assert backoff_delay(3, "soon", first=0.5, most=30) == 4
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    earlier = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert backoff_delay(0, later, first=0.5, most=30) == 30
    assert backoff_delay(0, earlier, first=0.5, most=30) == 0


def test_too_many_requests_and_server_errors_are_retried_but_not_implemented_is_not() -> None:
    statuses = (400, 404, 408, 429, 500, 501, 502, 503, 504)
    assert [status for status in statuses if retried(status)] == [429, 500, 502, 503, 504]


def test_the_cache_keeps_the_most_recently_used_pages_for_a_while() -> None:
    cache = SearchCache(seconds=60, entries=2, size_bytes=5)
    first, second, third = (
        UpstreamRequest("POST", "https://stac.example/search", {"limit": n}) for n in (1, 2, 3)
    )
    cache.put(first, b"1")
    cache.put(second, b"2")
    assert cache.get(first) == b"1"
    cache.put(third, b"3")
    assert (cache.get(first), cache.get(second), cache.get(third)) == (b"1", None, b"3")
    assert cache.get(UpstreamRequest("GET", "https://stac.example/search")) is None
    assert cache.get(UpstreamRequest("POST", "https://stac.example/search", {"limit": 3})) == b"3"
    cache.put(second, b"fives")
    assert (cache.get(first), cache.get(third), cache.get(second)) == (None, None, b"fives")
    cache.put(first, b"sixsix")
    assert (len(cache), cache.get(first)) == (1, None)
    brief = SearchCache(seconds=0.01, entries=2, size_bytes=100)
    brief.put(first, b"1")
    time.sleep(0.05)
    assert brief.get(first) is None and len(brief) == 0
    off = SearchCache(seconds=0, entries=2, size_bytes=100)
    off.put(first, b"1")
    assert len(off) == 0


def test_the_upstream_is_named_by_its_host_only() -> None:
    assert upstream_host("https://user:secret@stac.example:8443/v1/?key=abc") == "stac.example:8443"
    assert upstream_host("https://earth-search.aws.element84.com/v1") == (
        "earth-search.aws.element84.com"
    )


async def test_a_page_token_resumes_only_requests_to_the_same_upstream() -> None:
    settings = UpstreamSettings()
    async with StacApiClient("https://stac.example/v1", settings=settings) as client:
        request = UpstreamRequest("POST", "https://stac.example/v1/search", {"token": "n2"})
        assert client.resume(request.to_json()) == request
        for forged in (
            {"method": "GET", "url": "http://169.254.169.254/latest/meta-data", "body": None},
            {"method": "GET", "url": "https://stac.example:444/v1/search", "body": None},
            {"method": "DELETE", "url": "https://stac.example/v1/search", "body": None},
            {"method": "POST", "url": "https://stac.example/v1/search", "body": [1]},
            ["GET"],
        ):
            with pytest.raises(BadRequest):
                client.resume(forged)


# --- against the test STAC API server -----------------------------------------------------

FAST = UpstreamSettings(
    upstream_timeout_seconds=20, upstream_retries=2, upstream_backoff_seconds=0.01
)
# Ends at the instant of an item the upstream (closed interval) finds and we must not.
WINDOW = {"start": at("2022-01-20T00:00:00Z"), "end": at("2022-01-30T10:20:00.024Z")}
CLEAR: PropertyFilter = {"eo:cloud_cover": {"lte": 40}}


archive, server, api = stac_api_fixtures(size=32)


async def every_item(client: StacApiClient, page: SearchPage) -> list[dict[str, Any]]:
    items = list(page.items)
    while page.next is not None:
        page = await client.page(page.next)
        items.extend(page.items)
    return items


def search_requests(api: StacApi, prefix: str) -> int:
    return int(api.stats()["by_path"].get(f"{prefix}search", {}).get("requests", 0))


def expected_datetimes(archive: Sentinel2Archive) -> set[str]:
    start, end = WINDOW["start"], WINDOW["end"]
    return {
        item.datetime
        for item in archive.items
        if item.cloud_cover <= 40 and start <= at(item.datetime) < end
    }


@pytest.mark.parametrize(
    ("flavour", "sent", "method"),
    [
        ("earth-search/v1/", "query", "POST"),
        ("pc/api/stac/v1/", "filter", "POST"),
        ("plain/v1/", None, "GET"),
    ],
)
async def test_conditions_go_upstream_where_offered_and_all_hold_locally(
    api: StacApi, archive: Sentinel2Archive, flavour: str, sent: str | None, method: str
) -> None:
    async with StacApiClient(api.url + flavour, settings=FAST, collection_id="S2") as client:
        page = await client.search(
            upstream_collection=COLLECTION, **WINDOW, property_filter=CLEAR, limit=1
        )
        items = await every_item(client, page)
    kept = [item for item in items if matches_locally(item, property_filter=CLEAR, **WINDOW)]
    assert {item["properties"]["datetime"] for item in kept} == expected_datetimes(archive)
    assert len(items) > len(kept)
    searches = api.searches()
    assert len(searches) == len(items)  # one item a page, every page followed
    assert {search["method"] for search in searches} == {method}
    parameters = searches[0]["parameters"]
    assert parameters["datetime"] == "2022-01-20T00:00:00Z/2022-01-30T10:20:00.024000Z"
    assert [name for name in ("query", "filter") if name in parameters] == ([sent] if sent else [])
    if sent == "filter":
        assert parameters["filter-lang"] == "cql2-json"


@pytest.mark.parametrize("flavour", ["earth-search/v1/", "plain/v1/"])
async def test_paging_through_thousands_of_items_and_resuming_from_a_page_token(
    api: StacApi, flavour: str
) -> None:
    async with StacApiClient(api.url + flavour, settings=FAST, collection_id="MANY") as client:
        page = await client.search(upstream_collection=MANY, limit=1000)
        assert page.number_matched == MANY_COUNT and page.next is not None
        token = encode_token({"upstream": page.next.to_json()})
        resumed = await client.page(client.resume(decode_token(token)["upstream"]))
        items = page.items + await every_item(client, resumed)
    assert len({item["id"] for item in items}) == len(items) == MANY_COUNT
    assert len(api.searches()) == MANY_COUNT // 1000


async def test_a_search_refused_by_post_is_sent_by_get_from_then_on(api: StacApi) -> None:
    async with StacApiClient(api.plain, settings=FAST, collection_id="S2") as client:
        first = await client.search(upstream_collection=COLLECTION, limit=3)
        assert search_requests(api, "plain/v1/") == 2
        again = await client.search(upstream_collection=COLLECTION, limit=4)
    assert search_requests(api, "plain/v1/") == 3
    assert (len(first.items), len(again.items)) == (3, 4)
    assert [search["method"] for search in api.searches()] == ["GET", "GET"]


async def test_collection_conformance_and_queryables_are_read_from_the_upstream(
    api: StacApi,
) -> None:
    async with StacApiClient(api.earth_search, settings=FAST, collection_id="S2") as client:
        assert QUERY_V1 in await client.conformance()
        assert (await client.collection(COLLECTION))["id"] == COLLECTION
        queryables = await client.queryables(COLLECTION)
        assert queryables is not None and "eo:cloud_cover" in queryables["properties"]
        assert await client.queryables("absent") is None
        with pytest.raises(UpstreamUnavailable) as missing:
            await client.collection("absent")
    assert missing.value.params["status"] == 404
    api.fail("^/plain/v1/conformance$", 404, count=1)
    async with StacApiClient(api.plain, settings=FAST) as client:
        assert CORE in await client.conformance()
    assert api.stats()["by_path"]["plain/v1/"]["requests"] == 1


async def test_retries_wait_as_retry_after_asks_within_the_cap(
    api: StacApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="eoplex_data_discovery.upstream")
    api.fail("^/earth-search/v1/search$", 503, count=1, retry_after=1)
    async with StacApiClient(api.earth_search, settings=FAST, collection_id="S2") as client:
        page = await client.search(upstream_collection=COLLECTION, limit=2)
        assert len(page.items) == 2
        api.fail("^/earth-search/v1/search$", 429, count=2, retry_after=3600)
        capped = FAST.model_copy(update={"upstream_max_wait_seconds": 0.05})
        async with StacApiClient(api.earth_search, settings=capped) as patient:
            assert len((await patient.search(upstream_collection=COLLECTION, limit=3)).items) == 3
    waits = [record.getMessage() for record in caplog.records]
    assert [message.rsplit(" in ", 1)[1] for message in waits] == ["1.00 s", "0.05 s", "0.05 s"]
    assert search_requests(api, "earth-search/v1/") == 5


async def test_an_upstream_that_keeps_failing_is_unavailable_naming_its_host(
    api: StacApi,
) -> None:
    api.fail("^/earth-search/v1/search$", 500)
    host = urlsplit(api.url).netloc
    async with StacApiClient(api.earth_search, settings=FAST, collection_id="S2") as client:
        with pytest.raises(UpstreamUnavailable) as failing:
            await client.search(upstream_collection=COLLECTION)
    assert failing.value.message == (
        f"The data provider {host} of collection 'S2' failed: HTTP 500 after 2 retries"
    )
    assert search_requests(api, "earth-search/v1/") == 3
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    async with StacApiClient(f"http://127.0.0.1:{closed}/v1", settings=FAST) as client:
        with pytest.raises(UpstreamUnavailable) as refused:
            await client.landing()
    assert refused.value.params["upstream"] == f"127.0.0.1:{closed}"
    assert "connection refused or unreachable after 2 retries" in refused.value.message
    api.set_latency(2000)
    impatient = FAST.model_copy(update={"upstream_timeout_seconds": 0.2, "upstream_retries": 1})
    async with StacApiClient(api.earth_search, settings=impatient) as client:
        with pytest.raises(UpstreamUnavailable, match=r"no answer in time after 1 retry$"):
            await client.landing()


async def test_client_errors_and_answers_that_are_not_json_fail_at_once(api: StacApi) -> None:
    api.fail("^/earth-search/v1/search$", 400, count=1)
    async with StacApiClient(api.earth_search, settings=FAST, collection_id="S2") as client:
        with pytest.raises(UpstreamUnavailable) as refused:
            await client.search(upstream_collection=COLLECTION)
        assert refused.value.params["status"] == 400
        assert refused.value.message.endswith("HTTP 400: failing ^/earth-search/v1/search$")
        assert search_requests(api, "earth-search/v1/") == 1
        assert len((await client.search(upstream_collection=COLLECTION)).items) == 8
    async with StacApiClient(api.url + "files/32/2022-01-10/red.tif", settings=FAST) as client:
        with pytest.raises(UpstreamUnavailable, match="something other than JSON"):
            await client.landing()
    small = FAST.model_copy(update={"upstream_max_answer_megabytes": 0.25})
    async with StacApiClient(api.earth_search, settings=small) as client:
        assert len((await client.search(upstream_collection=MANY, limit=10)).items) == 10
        with pytest.raises(UpstreamUnavailable, match=r"it answered more than 0\.25 MB$"):
            await client.search(upstream_collection=MANY, limit=1000)


async def test_credentials_in_the_upstream_url_stay_out_of_errors_and_logs(
    api: StacApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    port = urlsplit(api.url).port
    url = f"http://reader:pa55word@127.0.0.1:{port}/earth-search/v1/?subscription-key=t0ken"
    api.fail("^/earth-search/v1/$", 503)
    async with StacApiClient(url, settings=FAST, collection_id="S2") as client:
        with pytest.raises(UpstreamUnavailable) as failing:
            await client.landing()
    told = [failing.value.message, *map(str, failing.value.params.values()), caplog.text]
    assert f"127.0.0.1:{port}" in failing.value.message
    assert not [text for text in told if "pa55word" in text or "t0ken" in text]


async def test_search_pages_are_cached_by_the_exact_request(api: StacApi) -> None:
    cache = SearchCache.from_settings(FAST)
    search = {"upstream_collection": COLLECTION, "limit": 2, "property_filter": CLEAR}
    async with StacApiClient(api.earth_search, settings=FAST, cache=cache) as client:
        first = await client.search(**search)
        first.items[0]["properties"]["eo:cloud_cover"] = -1
        requests = api.stats()["requests"]
        again = await client.search(**search)
        assert api.stats()["requests"] == requests
    async with StacApiClient(api.earth_search, settings=FAST, cache=cache) as other:
        shared = await other.search(**search)
        assert api.stats()["requests"] == requests + 2  # its landing page and conformance
        await other.search(**(search | {"limit": 3}))
    assert api.stats()["requests"] == requests + 3
    private = api.earth_search.replace("http://", "http://reader:pa55word@")
    async with StacApiClient(private, settings=FAST, cache=cache) as client:
        await client.search(**search)
    assert api.stats()["requests"] == requests + 6  # not the pages read without credentials
    assert again.items[0]["properties"]["eo:cloud_cover"] != -1
    assert again == shared and again.next == first.next and len(cache) == 3
