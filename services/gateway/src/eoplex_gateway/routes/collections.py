"""Routes answered by the data-discovery catalog: `/collections` and below (no auth needed).

The catalog returns STAC documents without the links that depend on where the API
is served; the pure builders here add them for the URL the client used.
"""

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from eoplex_common.errors import BadRequest
from eoplex_gateway.dependencies import Clients, Page, Settings
from eoplex_gateway.links import Limit, Token, link, page_url
from eoplex_gateway.urls import api_url
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2 as pb

router = APIRouter()

GEOJSON = "application/geo+json"
SCHEMA_JSON = "application/schema+json"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
# SPDX says nothing about these "licenses"; the collection's own links must explain them.
NON_SPDX_LICENSES = frozenset({"proprietary", "various", "other"})

LISTING_OMITS = frozenset({"summaries", "cube:dimensions"})
# Stored times have millisecond precision (BSON dates): an instant covers its millisecond.
INSTANT = timedelta(milliseconds=1)


def collection_url(root: str, collection_id: str) -> str:
    """`<api>/collections/<id>`, the id escaped as a path (ids may contain `/`)."""
    return f"{root}collections/{quote(collection_id, safe='')}"


def license_links(collection: dict[str, Any]) -> list[dict[str, str]]:
    """An SPDX license link when the collection names an SPDX license and links none."""
    license_id = str(collection.get("license", ""))
    if any(link.get("rel") == "license" for link in collection.get("links", [])):
        return []
    if not license_id or license_id in NON_SPDX_LICENSES:
        return []
    return [link(f"https://spdx.org/licenses/{license_id}.html", "license", "text/html")]


def build_collection(collection: dict[str, Any], *, root: str) -> dict[str, Any]:
    """`GET /collections/{id}`: the stored collection with self, root, parent, items links."""
    url = collection_url(root, collection["id"])
    links = [
        link(url, "self"),
        link(root, "root"),
        link(root, "parent"),
        link(f"{url}/items", "items", GEOJSON),
        link(f"{url}/queryables", QUERYABLES_REL, SCHEMA_JSON),
        *collection.get("links", []),
        *license_links(collection),
    ]
    return {**collection, "links": links}


def listed_collection(collection: dict[str, Any]) -> dict[str, Any]:
    """A collection as `GET /collections` lists it: without its largest optional fields,
    as the openEO API recommends; clients read those from `GET /collections/{id}`."""
    return {k: v for k, v in collection.items() if k not in LISTING_OMITS}


def build_collections_page(
    response: pb.ListCollectionsResponse, *, root: str, limit: int | None
) -> dict[str, Any]:
    """`GET /collections`: one page of collections and its next/prev links."""
    base = f"{root}collections"
    links = [link(base, "self"), link(root, "root")]
    if response.next_page_token:
        links.append(link(page_url(base, limit=limit, token=response.next_page_token), "next"))
    if response.prev_page_token:
        links.append(link(page_url(base, limit=limit, token=response.prev_page_token), "prev"))
    collections = [
        build_collection(listed_collection(json.loads(text)), root=root)
        for text in response.collections_json
    ]
    return {"collections": collections, "links": links}


def build_item(item: dict[str, Any], *, root: str) -> dict[str, Any]:
    """An item of `GET /collections/{id}/items` with its collection, parent and root links.

    There is no `self` link: single items are not served at `/items/{item_id}`.
    """
    url = collection_url(root, item["collection"])
    links = [link(url, "collection"), link(url, "parent"), link(root, "root")]
    return {**item, "links": [*links, *item.get("links", [])]}


def build_item_collection(
    response: pb.SearchItemsResponse,
    *,
    root: str,
    collection_id: str,
    query: dict[str, str],
) -> dict[str, Any]:
    """`GET /collections/{id}/items`: a GeoJSON FeatureCollection with paging links;
    without `numberMatched` when the catalog does not know it (-1: an upstream STAC API
    that does not count)."""
    items_url = f"{collection_url(root, collection_id)}/items"
    links = [
        link(items_url, "self", GEOJSON),
        link(root, "root"),
        link(collection_url(root, collection_id), "collection"),
    ]
    if response.next_page_token:
        next_query = urlencode({**query, "token": response.next_page_token})
        links.append(link(f"{items_url}?{next_query}", "next", GEOJSON))
    features = [build_item(json.loads(text), root=root) for text in response.items_json]
    collection: dict[str, Any] = {"type": "FeatureCollection", "features": features, "links": links}
    if response.number_matched >= 0:
        collection["numberMatched"] = response.number_matched
    collection["numberReturned"] = len(features)
    return collection


def build_queryables(
    queryables: dict[str, Any], *, root: str, collection_id: str
) -> dict[str, Any]:
    """`GET /collections/{id}/queryables`: the catalog's JSON Schema with its `$id`."""
    schema_id = f"{collection_url(root, collection_id)}/queryables"
    return {"$schema": queryables.pop("$schema"), "$id": schema_id, **queryables}


def parse_bbox(text: str) -> list[float]:
    """`minx,miny,maxx,maxy` in WGS84; BadRequest otherwise."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4:
        raise BadRequest(reason="bbox must be four comma-separated numbers: minx,miny,maxx,maxy")
    return values


# A date alone (RFC 3339 `full-date`), which STAC API clients send as the user typed it.
FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _span(text: str) -> tuple[datetime, datetime | None]:
    """The first instant `text` covers and the first after it (None: the end of time).

    A date-time covers its millisecond (the stored precision); a date, its whole UTC day.
    Raises BadRequest for anything else, a date-time without time zone included.
    """
    try:
        if FULL_DATE.fullmatch(text):
            first = datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
            length = timedelta(days=1)
        else:
            first = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            length = INSTANT
    except ValueError:
        first = None
    if first is None or first.tzinfo is None:
        raise BadRequest(
            reason=f"datetime {text!r} is not an RFC 3339 date, or date-time with time zone"
        )
    try:
        return first, first + length
    except OverflowError:
        return first, None


def parse_datetime_interval(text: str) -> tuple[str, str]:
    """`a/b`, `a/..`, `../b`, or one date-time or date -> [start, end) as RFC 3339 strings
    ("" for an open end), what the catalog searches.

    Both ends of an interval are inclusive, as in STAC API and OGC API Features (unlike
    `temporal_extent` in processes): the result ends after what `b` covers, i.e. 1 ms
    after a date-time (the stored precision) or at the end of a date's UTC day. A single
    value covers the same: its millisecond, or its day.
    """
    if "/" not in text:
        first, after = _span(text)
        return first.isoformat(), after.isoformat() if after else ""
    start, _, end = text.partition("/")
    if start in ("", "..") and end in ("", ".."):
        raise BadRequest(reason="datetime interval needs at least one bound")
    lower = _span(start)[0].isoformat() if start not in ("", "..") else ""
    upper = _span(end)[1] if end not in ("", "..") else None
    return lower, upper.isoformat() if upper else ""


@router.get("/collections")
async def list_collections(page: Page, clients: Clients) -> JSONResponse:
    """`GET /collections`; BadRequest for a bad limit or token."""
    query = pb.ListCollectionsRequest(limit=page.limit or 0, page_token=page.token)
    response = await clients.data_discovery.ListCollections(query)
    return JSONResponse(build_collections_page(response, root=page.root, limit=page.limit))


@router.get("/collections/{collection_id}/queryables")
async def collection_queryables(
    collection_id: str, request: Request, settings: Settings, clients: Clients
) -> JSONResponse:
    """`GET /collections/{collection_id}/queryables`; CollectionNotFound."""
    document = await clients.data_discovery.GetQueryables(
        pb.GetCollectionRequest(collection_id=collection_id)
    )
    root = api_url(request, settings)
    body = build_queryables(json.loads(document.json), root=root, collection_id=collection_id)
    return JSONResponse(body, media_type=SCHEMA_JSON)


@router.get("/collections/{collection_id}/items")
async def collection_items(
    collection_id: str,
    request: Request,
    settings: Settings,
    clients: Clients,
    bbox: str = "",
    interval: Annotated[str, Query(alias="datetime")] = "",
    limit: Limit = None,
    token: Token = "",
) -> JSONResponse:
    """`GET /collections/{collection_id}/items`; CollectionNotFound, BadRequest."""
    start, end = parse_datetime_interval(interval) if interval else ("", "")
    search = pb.SearchItemsRequest(
        collection_id=collection_id,
        bbox=parse_bbox(bbox) if bbox else [],
        datetime_start=start,
        datetime_end=end,
        limit=limit or 0,
        page_token=token,
    )
    response = await clients.data_discovery.SearchItems(search)
    query = {name: value for name, value in request.query_params.items() if name != "token"}
    root = api_url(request, settings)
    body = build_item_collection(response, root=root, collection_id=collection_id, query=query)
    return JSONResponse(body, media_type=GEOJSON)


@router.get("/collections/{collection_id}")
async def describe_collection(
    collection_id: str, request: Request, settings: Settings, clients: Clients
) -> JSONResponse:
    """`GET /collections/{collection_id}`; CollectionNotFound."""
    document = await clients.data_discovery.GetCollection(
        pb.GetCollectionRequest(collection_id=collection_id)
    )
    return JSONResponse(
        build_collection(json.loads(document.json), root=api_url(request, settings))
    )
