"""The item search (`ItemSearch`, a page of it `ItemsPage`) and pure builders of its
queries and opaque page tokens.

Items are indexed by their WGS84 bounds (`minx`..`maxy`) and their time span
(`start`, `end`; equal for an instant). A search box in another CRS is turned into
the WGS84 box that contains it, with densified edges, since a straight edge in a
projected CRS is curved in WGS84.
"""

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from eoplex_common.errors import BadRequest

Query = dict[str, Any]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
WGS84 = "EPSG:4326"
EDGE_POINTS = 21
FILTER_OPERATORS = {
    "eq": "$eq",
    "neq": "$ne",
    "lt": "$lt",
    "lte": "$lte",
    "gt": "$gt",
    "gte": "$gte",
}


@dataclass(frozen=True, kw_only=True)
class ItemSearch:
    """An item search (`GET /collections/{id}/items` and the executor's search)."""

    collection_id: str
    bbox: list[float] = field(default_factory=list)
    bbox_crs: str = ""
    start: str = ""
    end: str = ""
    bands: list[str] = field(default_factory=list)
    property_filter_json: str = ""
    limit: int = 0
    page_token: str = ""


@dataclass(frozen=True, kw_only=True)
class ItemsPage:
    """Matching items of one page, the next page's token and the total number matched."""

    items: list[dict[str, Any]]
    next_token: str
    number_matched: int


def checked_limit(limit: int) -> int:
    """The page size: 0 means the default; BadRequest outside 1..MAX_LIMIT."""
    if limit == 0:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(reason=f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def wgs84_bbox(bbox: list[float], crs: str) -> tuple[float, float, float, float]:
    """The WGS84 (lon/lat) box containing `bbox` given in `crs`; BadRequest if invalid."""
    if len(bbox) != 4:
        raise BadRequest(reason="bbox needs exactly four numbers: minx, miny, maxx, maxy")
    minx, miny, maxx, maxy = bbox
    if not all(math.isfinite(value) for value in bbox):
        raise BadRequest(reason="bbox values must be finite numbers")
    if minx > maxx or miny > maxy:
        raise BadRequest(reason="bbox minimum must not exceed its maximum")
    try:
        transformer = Transformer.from_crs(CRS.from_user_input(crs or WGS84), WGS84, always_xy=True)
        bounds = transformer.transform_bounds(minx, miny, maxx, maxy, densify_pts=EDGE_POINTS)
    except (CRSError, ProjError):
        raise BadRequest(reason=f"cannot transform the bbox from CRS {crs!r} to WGS84") from None
    west, south, east, north = (float(value) for value in bounds)
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise BadRequest(reason="bbox lies outside the range of longitudes and latitudes")
    return west, south, east, north


def parse_instant(value: str, *, name: str) -> datetime:
    """An RFC 3339 instant with time zone; BadRequest otherwise."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadRequest(reason=f"{name} {value!r} is not an RFC 3339 date-time") from None
    if parsed.tzinfo is None:
        raise BadRequest(reason=f"{name} {value!r} needs a time zone, e.g. 'Z'")
    return parsed


def _optional_instant(value: str, *, name: str) -> datetime | None:
    return parse_instant(value, name=name) if value else None


def search_interval(search: ItemSearch) -> tuple[datetime | None, datetime | None]:
    """The search's [start, end) (None: open); BadRequest if malformed or reversed."""
    start = _optional_instant(search.start, name="start")
    end = _optional_instant(search.end, name="end")
    if start is not None and end is not None and end < start:
        raise BadRequest(reason="the end of the time interval is before its start")
    return start, end


def spatial_condition(west: float, south: float, east: float, north: float) -> Query:
    """Items whose box intersects (or touches) the WGS84 box."""
    return {
        "maxx": {"$gte": west},
        "minx": {"$lte": east},
        "maxy": {"$gte": south},
        "miny": {"$lte": north},
    }


def temporal_condition(start: datetime | None, end: datetime | None) -> Query:
    """Items whose time span overlaps the half-open interval [start, end)."""
    condition: Query = {}
    if start is not None:
        condition["end"] = {"$gte": start}
    if end is not None:
        condition["start"] = {"$lt": end}
    return condition


def property_conditions(filter_json: str) -> Query:
    """`{"eo:cloud_cover": {"lte": 20}}` -> conditions on the stored item properties."""
    if not filter_json:
        return {}
    try:
        filters = json.loads(filter_json)
    except json.JSONDecodeError:
        raise BadRequest(reason="property filters are not valid JSON") from None
    if not isinstance(filters, dict):
        raise BadRequest(reason="property filters must be an object of property -> condition")
    conditions: Query = {}
    for name, condition in filters.items():
        if "." in name or name.startswith("$"):
            raise BadRequest(reason=f"property {name!r} cannot be filtered on")
        if not isinstance(condition, dict) or not condition:
            raise BadRequest(reason=f"the filter on {name!r} must be an object like {{'lte': 20}}")
        unknown = set(condition) - set(FILTER_OPERATORS)
        if unknown:
            raise BadRequest(reason=f"unknown filter operators {sorted(unknown)} on {name!r}")
        conditions[f"properties.{name}"] = {
            FILTER_OPERATORS[op]: value for op, value in condition.items()
        }
    return conditions


def encode_token(payload: dict[str, Any]) -> str:
    """An opaque page token."""
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    """The payload of a page token; BadRequest if it was not made by `encode_token`."""
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError):
        raise BadRequest(reason="the page token is invalid") from None
    if not isinstance(payload, dict):
        raise BadRequest(reason="the page token is invalid")
    return payload


def page_cursor(page_token: str, *, version: str) -> dict[str, Any]:
    """The payload of an item page token made for the collection's `version`; BadRequest
    if it was made for another (the collection was updated since) or not by us."""
    cursor = decode_token(page_token)
    if cursor.get("version") != version:
        raise BadRequest(reason="the page token expired: the collection was updated")
    return cursor
