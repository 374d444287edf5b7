"""The catalog's client of external STAC APIs: query translation, local filtering, retries
and caching; the pure parts alone, the client against the test STAC API server."""

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from eoplex_common.errors import BadRequest
from eoplex_data_discovery.upstream import (
    SearchCache,
    StacApiClient,
    UpstreamRequest,
    UpstreamSettings,
    as_get,
    backoff_delay,
    datetime_interval,
    matches_locally,
    parse_property_filter,
    search_conditions,
    upstream_host,
)

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


def test_the_cache_keeps_the_most_recently_used_pages_for_a_while() -> None:
    cache = SearchCache(seconds=60, entries=2)
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
    brief = SearchCache(seconds=0.01, entries=2)
    brief.put(first, b"1")
    time.sleep(0.05)
    assert brief.get(first) is None and len(brief) == 0
    off = SearchCache(seconds=0, entries=2)
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
