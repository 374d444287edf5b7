"""Pure functions on STAC documents: validation of what ingest sends, and queryables.

The catalog stores what ingest sends after checking only what it relies on itself:
an item needs an id, a footprint (WGS84 `bbox` or `geometry`), a `datetime` or a
`start_datetime`/`end_datetime` pair, and assets, whose keys are band names.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shapely.geometry import shape

from eoplex_common.errors import BadRequest

STAC_VERSION = "1.0.0"
MAX_COLLECTION_ID_LENGTH = 200
# openEO allows ^[\w\-\.~/]+$; "/" is left out because a collection whose id has one
# could not be reached at /collections/{collection_id}.
COLLECTION_ID = re.compile(r"^[\w\-.~]+$")
JSON_SCHEMA_DRAFT = "https://json-schema.org/draft/2019-09/schema"
# Links that depend on where the API is served; the gateway builds them per request.
STRUCTURAL_RELS = frozenset({"self", "root", "parent", "child", "collection", "items"})

# Well-known STAC properties whose ranges are defined by their extension.
KNOWN_QUERYABLES: dict[str, dict[str, Any]] = {
    "eo:cloud_cover": {"title": "Cloud Cover", "type": "number", "minimum": 0, "maximum": 100},
    "platform": {"title": "Platform", "type": "string"},
    "constellation": {"title": "Constellation", "type": "string"},
    "datetime": {"title": "Acquisition time", "type": "string", "format": "date-time"},
}


@dataclass(frozen=True, kw_only=True)
class ItemFootprint:
    """What the catalog indexes of an item: WGS84 bounds, time span and band names."""

    item_id: str
    bbox: tuple[float, float, float, float]
    start: datetime
    end: datetime
    bands: list[str]
    properties: dict[str, Any]


def check_collection_id(collection_id: str) -> str:
    """The id if it is a valid openEO collection id; BadRequest otherwise."""
    if not COLLECTION_ID.match(collection_id) or len(collection_id) > MAX_COLLECTION_ID_LENGTH:
        raise BadRequest(
            reason=f"collection id {collection_id!r} must match ^[\\w\\-\\.~]+$ and have at "
            f"most {MAX_COLLECTION_ID_LENGTH} characters"
        )
    return collection_id


def normalize_collection(document: Any) -> dict[str, Any]:
    """A STAC Collection as stored: checked, typed, with only its own links (e.g. license).

    Raises BadRequest naming the first missing or invalid field.
    """
    if not isinstance(document, dict):
        raise BadRequest(reason="a collection must be a JSON object")
    check_collection_id(str(document.get("id", "")))
    # openEO requires `cube:dimensions` and `summaries` of every collection it describes.
    required = (
        ("description", str),
        ("license", str),
        ("extent", dict),
        ("cube:dimensions", dict),
        ("summaries", dict),
    )
    for name, kind in required:
        if not isinstance(document.get(name), kind):
            raise BadRequest(reason=f"collection {document['id']!r} needs `{name}`")
    extent = document["extent"]
    if not isinstance(extent.get("spatial"), dict) or not isinstance(extent.get("temporal"), dict):
        raise BadRequest(reason=f"collection {document['id']!r} needs spatial and temporal extent")
    stored = {**document, "links": _own_links(document.get("links"))}
    stored["type"] = "Collection"
    stored.setdefault("stac_version", STAC_VERSION)
    return stored


def _own_links(links: Any) -> list[dict[str, Any]]:
    """The links of a document that do not depend on the API's address."""
    if not isinstance(links, list):
        return []
    return [
        link
        for link in links
        if isinstance(link, dict) and "href" in link and link.get("rel") not in STRUCTURAL_RELS
    ]


def _parse_datetime(value: Any, *, item_id: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(reason=f"item {item_id!r}: `{name}` is not an RFC 3339 instant") from None
    if parsed.tzinfo is None:
        raise BadRequest(reason=f"item {item_id!r}: `{name}` needs a time zone")
    return parsed


def _item_bbox(item: dict[str, Any], item_id: str) -> tuple[float, float, float, float]:
    bbox = item.get("bbox")
    if isinstance(bbox, list) and len(bbox) in (4, 6):
        values = [float(v) for v in bbox]
        half = len(values) // 2
        return values[0], values[1], values[half], values[half + 1]
    geometry = item.get("geometry")
    if not isinstance(geometry, dict):
        raise BadRequest(reason=f"item {item_id!r} needs a `bbox` or a `geometry`")
    try:
        minx, miny, maxx, maxy = shape(geometry).bounds
    except (ValueError, TypeError, AttributeError, KeyError):
        raise BadRequest(reason=f"item {item_id!r}: `geometry` is not valid GeoJSON") from None
    return minx, miny, maxx, maxy


def _item_times(properties: dict[str, Any], item_id: str) -> tuple[datetime, datetime]:
    start, end = properties.get("start_datetime"), properties.get("end_datetime")
    if start and end:
        first = _parse_datetime(start, item_id=item_id, name="start_datetime")
        last = _parse_datetime(end, item_id=item_id, name="end_datetime")
        if last < first:
            raise BadRequest(reason=f"item {item_id!r}: end_datetime is before start_datetime")
        return first, last
    if not properties.get("datetime"):
        raise BadRequest(reason=f"item {item_id!r} needs `datetime` or start/end_datetime")
    instant = _parse_datetime(properties["datetime"], item_id=item_id, name="datetime")
    return instant, instant


def item_footprint(item: Any) -> ItemFootprint:
    """What the catalog indexes of a STAC Item; BadRequest with the reason if it lacks it."""
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
        raise BadRequest(reason="every item needs a non-empty string `id`")
    item_id = item["id"]
    properties = item.get("properties")
    if not isinstance(properties, dict):
        raise BadRequest(reason=f"item {item_id!r} needs `properties`")
    assets = item.get("assets")
    if not isinstance(assets, dict) or not assets:
        raise BadRequest(reason=f"item {item_id!r} needs at least one asset")
    for key, asset in assets.items():
        if not isinstance(asset, dict) or not isinstance(asset.get("href"), str):
            raise BadRequest(reason=f"item {item_id!r}: asset {key!r} needs an `href`")
    start, end = _item_times(properties, item_id)
    return ItemFootprint(
        item_id=item_id,
        bbox=_item_bbox(item, item_id),
        start=start,
        end=end,
        bands=sorted(assets),
        properties=properties,
    )


def normalize_item(item: dict[str, Any], *, collection_id: str) -> dict[str, Any]:
    """A STAC Item as stored: typed, bound to its collection, with only its own links."""
    stored = {**item, "links": _own_links(item.get("links"))}
    stored["type"] = "Feature"
    stored["collection"] = collection_id
    stored.setdefault("stac_version", STAC_VERSION)
    return stored


def _property_schema(name: str, value: Any) -> dict[str, Any] | None:
    if name in KNOWN_QUERYABLES:
        return dict(KNOWN_QUERYABLES[name])
    title = name.split(":")[-1].replace("_", " ").capitalize()
    if isinstance(value, bool):
        return {"title": title, "type": "boolean"}
    if isinstance(value, int | float):
        return {"title": title, "type": "number"}
    if isinstance(value, str):
        return {"title": title, "type": "string"}
    return None


def build_queryables(
    *, collection_id: str, title: str, properties: list[dict[str, Any]]
) -> dict[str, Any]:
    """`GET /collections/{id}/queryables`: JSON Schema of the scalar item properties.

    `properties` are the property objects of the collection's items; a property is
    queryable if it has a scalar value in at least one item. The gateway adds `$id`.
    """
    schemas: dict[str, dict[str, Any]] = {}
    for item_properties in properties:
        for name, value in item_properties.items():
            if name in schemas or name in ("start_datetime", "end_datetime"):
                continue
            schema = _property_schema(name, value)
            if schema is not None:
                schemas[name] = schema
    return {
        "$schema": JSON_SCHEMA_DRAFT,
        "type": "object",
        "title": title or collection_id,
        "properties": dict(sorted(schemas.items())),
        "additionalProperties": False,
    }
