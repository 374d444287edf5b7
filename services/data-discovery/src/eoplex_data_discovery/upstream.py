"""The catalog's client of an external STAC API: the upstream of a `stac-api` collection.

`StacApiClient(url, settings=..., collection_id=...)` talks to one STAC API (its
landing page `url`) on behalf of one of our collections (`collection_id`, named in
errors). It reads `landing()`, `conformance()`, `collection(upstream_id)` and
`queryables(upstream_id)`, and searches items one page at a time:

    client = StacApiClient(url, settings=settings, collection_id="S2", cache=cache)
    page = await client.search(upstream_collection="sentinel-2-l2a", bbox=box,
                               start=start, end=end, property_filter=conditions, limit=100)
    page.items            # upstream STAC Items, as the upstream wrote them
    page.next             # UpstreamRequest of the next page, or None
    page.number_matched   # the upstream's numberMatched / context.matched, or None
    page = await client.page(page.next)

A search is POSTed to the landing page's `search` link (else `<url>/search`), or sent
by GET when POST answers 404 or 405 (the client remembers that). `next` links are
followed as they say: a GET of their `href`, or a POST of their `body` (merged into the
previous body when `merge` is true, the previous body when they carry none).
`UpstreamRequest.to_json()` is JSON for a page token; `client.resume(payload)` turns
it back into a request, refusing (BadRequest) one for another host than the
client's, so a forged token cannot point the catalog anywhere else.

Property conditions (`{"eo:cloud_cover": {"lte": 20}}`, ops eq neq lt lte gt gte;
`parse_property_filter`) are sent upstream as the STAC API `query` extension when the
upstream's conformance classes list it, else as a CQL2-JSON `filter` when they list
CQL2-JSON or the STAC filter extension, else not at all (`search_conditions`). Upstream
answers are a superset at best (their datetime intervals are closed; some ignore what
they do not know), so every item must also pass `matches_locally`.

User info in `url` (`https://user:password@host/...`) is sent as HTTP basic
authentication and appears in no URL the client logs or names. Failures are
`UpstreamUnavailable` naming the upstream's host (never its full URL, a credential or a
long body): 429, 5xx (but 501), connection errors and timeouts are retried
`upstream_retries` times with exponential backoff (`upstream_backoff_seconds`,
doubling), or the wait `Retry-After` asks for, each wait at most
`upstream_max_wait_seconds`; other 4xx, answers that are not JSON and answers larger
than `upstream_max_answer_megabytes` fail at once. The error's `params["status"]` holds
the HTTP status when there was one (404 for an upstream collection that does not exist).

Successful search pages are cached (`SearchCache`: least recently used first out, at
most `search_cache_entries` pages and `search_cache_megabytes` of answers, each for
`search_cache_seconds`) by the exact upstream request; pass one cache to every client of
the service to share it.
"""

import asyncio
import email.utils
import hashlib
import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

import httpx
from pydantic_settings import BaseSettings, SettingsConfigDict

from eoplex_common.errors import BadRequest, UpstreamUnavailable
from eoplex_data_discovery.search import property_conditions

log = logging.getLogger(__name__)

PropertyFilter = dict[str, dict[str, Any]]

EXCERPT_CHARACTERS = 160
ERROR_BODY_BYTES = 65536  # read of an error answer, for its excerpt
QUERY_EXTENSION_SUFFIX = "/item-search#query"
FILTER_EXTENSION_SUFFIX = "/item-search#filter"
STAC_API_PREFIX = "https://api.stacspec.org/"
CQL2_JSON = "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json"
CQL2_OPERATORS = {"eq": "=", "neq": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


class UpstreamSettings(BaseSettings):
    """How the catalog talks to external STAC APIs (prefix `OPENEO_DATA_DISCOVERY_`).

    The service's settings class includes these fields by inheriting from this one.
    """

    model_config = SettingsConfigDict(env_prefix="OPENEO_DATA_DISCOVERY_", extra="ignore")

    upstream_timeout_seconds: float = 30.0
    upstream_retries: int = 4
    upstream_backoff_seconds: float = 1.0
    upstream_max_wait_seconds: float = 30.0
    search_cache_seconds: float = 60.0
    search_cache_entries: int = 256
    search_cache_megabytes: int = 64
    upstream_max_answer_megabytes: float = 64.0


@dataclass(frozen=True)
class UpstreamRequest:
    """One request of an upstream item search: a GET of `url`, or a POST of `body` to it."""

    method: str
    url: str
    body: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The request as a JSON object (for a page token; see `StacApiClient.resume`)."""
        return {"method": self.method, "url": self.url, "body": self.body}

    def cache_key(self) -> str:
        """The request exactly: method, URL and body with sorted keys."""
        return json.dumps([self.method, self.url, self.body], sort_keys=True)


@dataclass(frozen=True)
class SearchPage:
    """One page of an upstream item search."""

    items: list[dict[str, Any]]
    next: UpstreamRequest | None
    number_matched: int | None


class SearchCache:
    """Bounded, short-lived cache of upstream search answers, keyed by the exact request:
    at most `entries` answers of at most `size_bytes` together, each for `seconds`; the
    least recently used go first.

    It keeps the answer's bytes, so every hit is parsed afresh and callers may change
    the items they get.
    """

    def __init__(self, *, seconds: float, entries: int, size_bytes: int) -> None:
        self.seconds = seconds
        self.entries = entries
        self.size_bytes = size_bytes
        self._answers: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._size = 0

    @classmethod
    def from_settings(cls, settings: UpstreamSettings) -> "SearchCache":
        """A cache sized by the `search_cache_*` settings."""
        return cls(
            seconds=settings.search_cache_seconds,
            entries=settings.search_cache_entries,
            size_bytes=settings.search_cache_megabytes * 2**20,
        )

    def get(self, request: UpstreamRequest, *, scope: str = "") -> bytes | None:
        """The cached answer to the request if still fresh (`scope`: see `put`)."""
        key = scope + request.cache_key()
        cached = self._answers.get(key)
        if cached is None:
            return None
        stored, content = cached
        if time.monotonic() - stored >= self.seconds:
            self._drop(key)
            return None
        self._answers.move_to_end(key)
        return content

    def put(self, request: UpstreamRequest, content: bytes, *, scope: str = "") -> None:
        """Remember an answer, dropping the least recently used beyond the bounds; answers
        of another `scope` (e.g. to other credentials) are apart."""
        if self.seconds <= 0 or not 0 < len(content) <= self.size_bytes:
            return
        key = scope + request.cache_key()
        if key in self._answers:
            self._drop(key)
        self._answers[key] = (time.monotonic(), content)
        self._size += len(content)
        while len(self._answers) > self.entries or self._size > self.size_bytes:
            self._drop(next(iter(self._answers)))

    def _drop(self, key: str) -> None:
        self._size -= len(self._answers.pop(key)[1])

    def __len__(self) -> int:
        return len(self._answers)


def make_http_client(settings: UpstreamSettings) -> httpx.AsyncClient:
    """An HTTP client for upstream STAC APIs (timeouts from the settings, redirects followed)."""
    _hide_secrets_in_request_logs()
    return httpx.AsyncClient(
        timeout=settings.upstream_timeout_seconds,
        follow_redirects=True,
        max_redirects=5,
        headers={"Accept": "application/json, application/geo+json"},
    )


class _UrlsWithoutSecrets(logging.Filter):
    """httpx logs every request's URL at INFO: here without its user info and query, which
    may hold an upstream's credentials."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                arg.copy_with(userinfo=b"", query=None) if isinstance(arg, httpx.URL) else arg
                for arg in record.args
            )
        return True


def _hide_secrets_in_request_logs() -> None:
    httpx_log = logging.getLogger("httpx")
    if not any(isinstance(f, _UrlsWithoutSecrets) for f in httpx_log.filters):
        httpx_log.addFilter(_UrlsWithoutSecrets())


# --- property conditions ------------------------------------------------------------------


def parse_property_filter(filter_json: str) -> PropertyFilter:
    """`'{"eo:cloud_cover": {"lte": 20}}'` as a dict ({} for ""); BadRequest if malformed."""
    property_conditions(filter_json)
    return json.loads(filter_json) if filter_json else {}


def offers_query(conformance: Iterable[str]) -> bool:
    """Whether the conformance classes list the STAC API query extension (any version)."""
    return any(_is_stac_class(c, QUERY_EXTENSION_SUFFIX) for c in conformance)


def offers_cql2_json(conformance: Iterable[str]) -> bool:
    """Whether the conformance classes list CQL2-JSON or the STAC API filter extension."""
    return any(
        c.rstrip("/") == CQL2_JSON or _is_stac_class(c, FILTER_EXTENSION_SUFFIX)
        for c in conformance
    )


def _is_stac_class(conformance_class: str, suffix: str) -> bool:
    return conformance_class.startswith(STAC_API_PREFIX) and conformance_class.endswith(suffix)


def cql2_filter(property_filter: PropertyFilter) -> dict[str, Any]:
    """The conditions as one CQL2-JSON expression (`and` of the comparisons)."""
    comparisons = [
        {"op": CQL2_OPERATORS[op], "args": [{"property": name}, value]}
        for name, condition in property_filter.items()
        for op, value in condition.items()
    ]
    return comparisons[0] if len(comparisons) == 1 else {"op": "and", "args": comparisons}


def search_conditions(
    property_filter: PropertyFilter, conformance: Iterable[str]
) -> dict[str, Any]:
    """The part of an upstream search body carrying the property conditions: `query`,
    or `filter` + `filter-lang`, whichever the upstream offers (query first), else {}."""
    if not property_filter:
        return {}
    classes = list(conformance)
    if offers_query(classes):
        return {"query": {name: dict(condition) for name, condition in property_filter.items()}}
    if offers_cql2_json(classes):
        return {"filter": cql2_filter(property_filter), "filter-lang": "cql2-json"}
    return {}


# --- local filtering ----------------------------------------------------------------------


def matches_locally(
    item: Mapping[str, Any],
    *,
    property_filter: PropertyFilter | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    bands: Sequence[str] = (),
) -> bool:
    """Whether an upstream item meets the whole search, as an ingested item would have to:

    - every property condition, compared like MongoDB does (numbers with numbers, strings
      with strings; a missing property meets only `neq`);
    - its time (`datetime`, or the span `start_datetime`..`end_datetime`) overlaps the
      half-open interval [start, end); an item without a readable time fails a time
      condition;
    - an asset under every name in `bands` (call it on the translated item, whose band
      assets carry the band names, or pass the upstream asset keys).
    """
    properties = item.get("properties")
    if not isinstance(properties, Mapping):
        return False
    for name, condition in (property_filter or {}).items():
        for op, expected in condition.items():
            if not _compares(properties.get(name, _MISSING), op, expected):
                return False
    if start is not None or end is not None:
        span = item_time_span(properties)
        if span is None:
            return False
        first, last = span
        if (start is not None and last < start) or (end is not None and first >= end):
            return False
    assets = item.get("assets")
    return not bands or (isinstance(assets, Mapping) and all(band in assets for band in bands))


_MISSING = object()


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "other"


def _compares(value: Any, op: str, expected: Any) -> bool:
    same = value is not _MISSING and _kind(value) == _kind(expected)
    if op == "eq":
        return same and value == expected
    if op == "neq":
        return not (same and value == expected)
    if not same or _kind(value) not in ("number", "string"):
        return False
    if op == "lt":
        return bool(value < expected)
    if op == "lte":
        return bool(value <= expected)
    if op == "gt":
        return bool(value > expected)
    return bool(value >= expected)


def item_time_span(properties: Mapping[str, Any]) -> tuple[datetime, datetime] | None:
    """(first, last) instant of an item: its `datetime` twice, or its start/end_datetime."""
    instant = _instant(properties.get("datetime"))
    if instant is not None:
        return instant, instant
    first = _instant(properties.get("start_datetime"))
    last = _instant(properties.get("end_datetime"))
    if first is None or last is None:
        return None
    return first, last


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def datetime_interval(start: datetime | None, end: datetime | None) -> str | None:
    """The STAC `datetime` parameter `start/end` (`..` for an open end); None for neither."""
    if start is None and end is None:
        return None
    return f"{_rfc3339(start)}/{_rfc3339(end)}"


def _rfc3339(instant: datetime | None) -> str:
    if instant is None:
        return ".."
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- the client ---------------------------------------------------------------------------


class StacApiClient:
    """An external STAC API at `url` (its landing page), for our collection `collection_id`.

    `http` and `cache` may be shared between clients; the client closes only an HTTP
    client it made itself (`aclose`, or `async with`).
    """

    def __init__(
        self,
        url: str,
        *,
        settings: UpstreamSettings,
        collection_id: str = "",
        http: httpx.AsyncClient | None = None,
        cache: SearchCache | None = None,
    ) -> None:
        located = httpx.URL(url)
        self._auth = (
            httpx.BasicAuth(located.username, located.password) if located.userinfo else None
        )
        self.url = str(located.copy_with(userinfo=b""))
        # Pages read with credentials are not served to clients with others (or none).
        self._cache_scope = hashlib.sha256(located.userinfo).hexdigest() if located.userinfo else ""
        self.settings = settings
        self.collection_id = collection_id
        self.host = upstream_host(self.url)
        self.cache = cache if cache is not None else SearchCache.from_settings(settings)
        self._own_http = http is None
        self._http = http if http is not None else make_http_client(settings)
        self._base = self.url if self.url.endswith("/") else self.url + "/"
        _hide_secrets_in_request_logs()
        self._landing: dict[str, Any] | None = None
        self._conformance: list[str] | None = None
        self._search_by_get = False

    async def __aenter__(self) -> "StacApiClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this client made it."""
        if self._own_http:
            await self._http.aclose()

    async def landing(self) -> dict[str, Any]:
        """The landing page (read once per client); UpstreamUnavailable."""
        if self._landing is None:
            self._landing = await self._get_json(self.url)
        return self._landing

    async def conformance(self) -> list[str]:
        """The conformance classes: `/conformance`, else the landing page's `conformsTo`
        (read once per client); UpstreamUnavailable."""
        if self._conformance is None:
            try:
                document = await self._get_json(urljoin(self._base, "conformance"))
            except UpstreamUnavailable as error:
                if error.params.get("status") not in (404, 405):
                    raise
                document = await self.landing()
            classes = document.get("conformsTo")
            self._conformance = (
                [c for c in classes if isinstance(c, str)] if isinstance(classes, list) else []
            )
        return self._conformance

    async def collection(self, upstream_id: str) -> dict[str, Any]:
        """The upstream collection document; UpstreamUnavailable (status 404: no such one)."""
        return await self._get_json(self._collection_url(upstream_id))

    async def queryables(self, upstream_id: str) -> dict[str, Any] | None:
        """The upstream collection's queryables, None where the upstream has none;
        UpstreamUnavailable."""
        try:
            return await self._get_json(self._collection_url(upstream_id) + "/queryables")
        except UpstreamUnavailable as error:
            if error.params.get("status") in (404, 405, 501):
                return None
            raise

    def _collection_url(self, upstream_id: str) -> str:
        return urljoin(self._base, "collections/" + quote(upstream_id, safe=""))

    async def search_url(self) -> str:
        """The item search: the landing page's `search` link (its POST one if it has
        several), else `<url>/search`."""
        links = _links(await self.landing(), "search")
        posted = [link for link in links if str(link.get("method", "")).upper() == "POST"]
        link = next(iter(posted or links), None)
        if link is not None and isinstance(link.get("href"), str):
            return urljoin(self.url, link["href"])
        return urljoin(self._base, "search")

    async def search(
        self,
        *,
        upstream_collection: str,
        bbox: Sequence[float] | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        property_filter: PropertyFilter | None = None,
        limit: int = 100,
        conformance: Sequence[str] | None = None,
    ) -> SearchPage:
        """The first page of an item search: the upstream collection, the WGS84 `bbox`, the
        interval (sent closed; see `matches_locally`), the property conditions the upstream
        can take (`conformance` as stored at registration, else read from the upstream)
        and the page size. UpstreamUnavailable."""
        body: dict[str, Any] = {"collections": [upstream_collection], "limit": limit}
        if bbox is not None:
            body["bbox"] = [float(value) for value in bbox]
        interval = datetime_interval(start, end)
        if interval is not None:
            body["datetime"] = interval
        if property_filter:
            classes = conformance if conformance is not None else await self.conformance()
            body.update(search_conditions(property_filter, classes))
        return await self.page(UpstreamRequest("POST", await self.search_url(), body))

    async def page(self, request: UpstreamRequest) -> SearchPage:
        """The page a request answers (cached); a first POST refused with 404/405 is sent
        as GET instead, and so are this client's later first pages. UpstreamUnavailable."""
        if request.method == "POST" and self._search_by_get and request.body is not None:
            request = as_get(request)
        try:
            return await self._cached_page(request)
        except UpstreamUnavailable as error:
            if request.method != "POST" or error.params.get("status") not in (404, 405):
                raise
        self._search_by_get = True
        return await self._cached_page(as_get(request))

    async def _cached_page(self, request: UpstreamRequest) -> SearchPage:
        content = self.cache.get(request, scope=self._cache_scope)
        if content is not None:
            return self._search_page(request, content)
        content = await self._fetch(request)
        page = self._search_page(request, content)
        self.cache.put(request, content, scope=self._cache_scope)
        return page

    def resume(self, payload: Any) -> UpstreamRequest:
        """The request `UpstreamRequest.to_json` wrote (from a page token); BadRequest if it
        is malformed or not for this client's upstream."""
        if not isinstance(payload, dict):
            raise BadRequest(reason="the page token is invalid")
        method, url, body = payload.get("method"), payload.get("url"), payload.get("body")
        if (
            method not in ("GET", "POST")
            or not isinstance(url, str)
            or not (body is None or isinstance(body, dict))
            or not _same_origin(url, self.url)
        ):
            raise BadRequest(reason="the page token is invalid")
        return UpstreamRequest(method, url, body)

    def _search_page(self, request: UpstreamRequest, content: bytes) -> SearchPage:
        document = self._json(content)
        features = document.get("features")
        if document.get("type") != "FeatureCollection" or not isinstance(features, list):
            raise self._error("its item search did not answer a FeatureCollection")
        items = [feature for feature in features if isinstance(feature, dict)]
        following = _link(document, "next")
        return SearchPage(
            items=items,
            next=self._next_request(request, following) if following and items else None,
            number_matched=_number_matched(document),
        )

    def _next_request(self, previous: UpstreamRequest, link: Mapping[str, Any]) -> UpstreamRequest:
        href = link.get("href")
        if not isinstance(href, str):
            raise self._error("its item search gave a next link without an href")
        url = urljoin(previous.url, href)
        if not _same_origin(url, self.url):
            raise self._error("its item search gave a next link to another host")
        if str(link.get("method", "GET")).upper() != "POST":
            return UpstreamRequest("GET", url)
        body = link.get("body")
        if not isinstance(body, dict):
            return UpstreamRequest("POST", url, previous.body)
        if link.get("merge") is True:
            body = {**(previous.body or {}), **body}
        return UpstreamRequest("POST", url, body)

    async def _get_json(self, url: str) -> dict[str, Any]:
        return self._json(await self._fetch(UpstreamRequest("GET", url)))

    def _json(self, content: bytes) -> dict[str, Any]:
        try:
            document = json.loads(content)
        except ValueError:
            raise self._error("it answered something other than JSON") from None
        if not isinstance(document, dict):
            raise self._error("it answered JSON that is not an object")
        return document

    async def _fetch(self, request: UpstreamRequest) -> bytes:
        """The body of a 200 answer, retrying what may pass; UpstreamUnavailable."""
        retries = max(self.settings.upstream_retries, 0)
        attempt = 0
        while True:
            status: int | None = None
            retry_after: str | None = None
            try:
                answered, headers, content = await self._send(request)
            except httpx.TransportError as error:
                reason = _transport_reason(error)
            else:
                if answered == 200:
                    return content
                if not retried(answered):
                    excerpt = _excerpt(content, headers)
                    raise self._error(f"HTTP {answered}{excerpt}", status=answered)
                status, reason = answered, f"HTTP {answered}"
                retry_after = headers.get("Retry-After")
            if attempt >= retries:
                tries = f" after {retries} {'retry' if retries == 1 else 'retries'}"
                raise self._error(reason + (tries if retries else ""), status=status)
            await self._wait(attempt, retry_after, reason=reason)
            attempt += 1

    async def _send(self, request: UpstreamRequest) -> tuple[int, httpx.Headers, bytes]:
        """Status, headers and body of one answer; of an error only the body's start.
        UpstreamUnavailable for a body beyond `upstream_max_answer_megabytes`."""
        async with self._http.stream(
            request.method, request.url, json=request.body, auth=self._auth
        ) as response:
            most = int(self.settings.upstream_max_answer_megabytes * 2**20)
            limit = most if response.status_code == 200 else ERROR_BODY_BYTES
            content = bytearray()
            async for chunk in response.aiter_bytes():
                content.extend(chunk)
                if len(content) > limit:
                    if response.status_code == 200:
                        megabytes = self.settings.upstream_max_answer_megabytes
                        raise self._error(f"it answered more than {megabytes:g} MB")
                    break
            return response.status_code, response.headers, bytes(content)

    async def _wait(self, attempt: int, retry_after: str | None, *, reason: str) -> None:
        delay = backoff_delay(
            attempt,
            retry_after,
            first=self.settings.upstream_backoff_seconds,
            most=self.settings.upstream_max_wait_seconds,
        )
        log.info(
            "upstream %s answered %s; retrying in %.2f s",
            self.host,
            reason,
            delay,
            extra={"upstream": self.host, "collection": self.collection_id},
        )
        await asyncio.sleep(delay)

    def _error(self, reason: str, **params: Any) -> UpstreamUnavailable:
        return UpstreamUnavailable(
            upstream=self.host, collection=self.collection_id, reason=reason, **params
        )


def retried(status: int) -> bool:
    """Whether an answer's HTTP status may pass on retry: 429 and 5xx other than 501."""
    return status == 429 or (status >= 500 and status != 501)


def backoff_delay(attempt: int, retry_after: str | None, *, first: float, most: float) -> float:
    """Seconds to wait before retry `attempt + 1`: what `Retry-After` asks (seconds or an
    HTTP date), else `first * 2**attempt`; never more than `most` nor less than 0."""
    delay = first * 2**attempt
    if retry_after is not None:
        asked = _retry_after_seconds(retry_after.strip())
        if asked is not None:
            delay = asked
    return min(max(delay, 0.0), most)


def _retry_after_seconds(value: str) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return (when - datetime.now(UTC)).total_seconds()
    return seconds if math.isfinite(seconds) else None


def as_get(request: UpstreamRequest) -> UpstreamRequest:
    """A POST search as the GET of the same search (JSON-valued parameters as JSON)."""
    parameters: dict[str, str] = {}
    for name, value in (request.body or {}).items():
        if name in ("collections", "bbox", "ids") and isinstance(value, list):
            parameters[name] = ",".join(str(part) for part in value)
        elif isinstance(value, str):
            parameters[name] = value
        else:
            parameters[name] = json.dumps(value, separators=(",", ":"))
    url = request.url.split("?", 1)[0]
    return UpstreamRequest("GET", f"{url}?{urlencode(parameters)}" if parameters else url)


def upstream_host(url: str) -> str:
    """The host (and port, if any) of a URL, without credentials, path or query."""
    parts = urlsplit(url)
    host = parts.hostname or "the upstream"
    return f"{host}:{parts.port}" if parts.port else host


def _same_origin(url: str, other: str) -> bool:
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme.lower(), a.hostname, a.port) == (b.scheme.lower(), b.hostname, b.port)


def _links(document: Mapping[str, Any], rel: str) -> list[Mapping[str, Any]]:
    links = document.get("links")
    if not isinstance(links, list):
        return []
    return [link for link in links if isinstance(link, dict) and link.get("rel") == rel]


def _link(document: Mapping[str, Any], rel: str) -> Mapping[str, Any] | None:
    return next(iter(_links(document, rel)), None)


def _number_matched(document: Mapping[str, Any]) -> int | None:
    matched = document.get("numberMatched")
    if matched is None and isinstance(document.get("context"), dict):
        matched = document["context"].get("matched")
    if isinstance(matched, bool) or not isinstance(matched, int) or matched < 0:
        return None
    return matched


def _transport_reason(error: httpx.TransportError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "no answer in time"
    if isinstance(error, httpx.ConnectError):
        return "connection refused or unreachable"
    return f"connection failed ({error.__class__.__name__})"


def _excerpt(content: bytes, headers: httpx.Headers) -> str:
    """': <the start of the upstream's message>' or ''; JSON `description`, `detail` or
    `message` preferred; never longer than EXCERPT_CHARACTERS."""
    if (headers.get("Content-Type") or "").startswith("text/html"):
        return ""
    text = content.decode("utf-8", errors="replace")
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict):
        for key in ("description", "detail", "message", "code"):
            if isinstance(document.get(key), str):
                text = document[key]
                break
    text = " ".join(text.split())
    if not text:
        return ""
    if len(text) > EXCERPT_CHARACTERS:
        text = text[: EXCERPT_CHARACTERS - 1] + "…"
    return f": {text}"
