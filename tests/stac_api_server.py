"""A STAC API server for tests: three upstream flavours over an archive of real COGs.

`serve_stac_api(folder)` starts `python -m tests.stac_api_server <folder>` on 127.0.0.1 (a
free port; a process of its own, because GDAL holds the GIL while it reads over
`/vsicurl/`) and yields a `StacApi`. The folder holds what `tests.stac_api_data` writes
(`make_sentinel2_archive`); collection files are reread when they change, so collections
can be added while the server runs (e.g. `publish_to_s3`).

The APIs, each a landing page with `conformance`, `collections`, `collections/{id}`,
`collections/{id}/items`, `collections/{id}/items/{item}`, `collections/{id}/queryables`
and `search`:

- `{url}earth-search/v1/`: the STAC `query` extension (ops eq, neq, lt, lte, gt, gte);
  answers carry `numberMatched`/`numberReturned`; a POST search's `next` link is
  `{"method": "POST", "body": {"next": <token>}, "merge": true}`, a GET one's href carries
  `next=<token>`.
- `{url}pc/api/stac/v1/`: CQL2-JSON `filter` (and, or, not, =, <>, <, <=, >, >= on
  `{"property": name}`; `{"timestamp": ...}` literals), no `query`; answers omit
  `numberMatched`; a POST search's `next` link repeats the whole body with `token`; asset
  hrefs `{url}blob/<container>/...` answer 403 without a valid SAS token, which
  `{url}pc/api/sas/v1/sign?href=<href>` hands out (`{"href", "msft:expiry"}`).
- `{url}plain/v1/`: neither extension (a `query` or `filter` is refused with 400); search
  by GET only (POST answers 405); answers say `context.matched`.

Search answers: `collections`, `bbox`, `datetime` (an instant, or a closed interval with
`..` for an open end), `ids`, `limit` (default 10, at most 1000); items sorted newest
first, then by id. Files under `{url}files/...` (and `blob/`) answer single Range
requests with 206 and HEAD requests.

Controls (`/_control/...`, never delayed, failed or counted): latency per request,
failures on demand (status, count, `Retry-After`), request and byte counts by route
(`stats`), the searches received, the SAS token lifetime, and `reset`.
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.stac_api_data import Sentinel2Archive, copies, make_sentinel2_archive
from tests.stac_server import byte_range, server_process

CORE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
QUERY = [
    "https://api.stacspec.org/v1.0.0/item-search#query",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#query",
]
FILTER = [
    "https://api.stacspec.org/v1.0.0-rc.2/item-search#filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
]
DEFAULT_LIMIT, MAX_LIMIT = 10, 1000
SAS_TTL_SECONDS = 3600.0
SAS_API = "pc/api/sas/v1"
QUERY_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
}
CQL2_OPS = dict(zip(["=", "<>", "<", "<=", ">", ">="], QUERY_OPS.values(), strict=True))


@dataclass(frozen=True)
class Flavour:
    """What an upstream API offers and how it pages."""

    name: str  # the folder of its collection files
    prefix: str  # its path under the server, ending "/"
    conformance: list[str]
    query: bool
    filter: bool
    post_search: bool
    token_param: str


FLAVOURS = [
    Flavour("earth-search", "earth-search/v1/", CORE + QUERY, True, False, True, "next"),
    Flavour("pc", "pc/api/stac/v1/", CORE + FILTER, False, True, True, "token"),
    Flavour("plain", "plain/v1/", CORE, False, False, False, "token"),
]


class BadRequest(Exception):
    """A search the API refuses with 400."""


# ---------------------------------------------------------------------------------------
# What the server process holds: the archive and the controls.


@dataclass
class Controls:
    """Latency, injected failures, counters, searches and the SAS lifetime (thread-safe)."""

    latency_ms: float = 0.0
    failures: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    bytes: int = 0
    by_path: dict[str, dict[str, int]] = field(default_factory=dict)
    searches: list[dict[str, Any]] = field(default_factory=list)
    sas_ttl: float = SAS_TTL_SECONDS
    lock: threading.Lock = field(default_factory=threading.Lock)

    def failure(self, path: str) -> dict[str, Any] | None:
        """The injected failure `path` meets now (its count used up by one), if any."""
        with self.lock:
            for rule in self.failures:
                if re.search(rule["path"], path) and rule["count"] != 0:
                    if rule["count"] is not None:
                        rule["count"] -= 1
                    return rule
        return None

    def count(self, route: str, sent: int) -> None:
        with self.lock:
            self.requests += 1
            self.bytes += sent
            counter = self.by_path.setdefault(route, {"requests": 0, "bytes": 0})
            counter["requests"] += 1
            counter["bytes"] += sent

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.requests,
                "bytes": self.bytes,
                "by_path": {key: dict(value) for key, value in self.by_path.items()},
            }

    def reset(self) -> None:
        with self.lock:
            self.latency_ms, self.sas_ttl = 0.0, SAS_TTL_SECONDS
            self.failures.clear()
            self.requests = self.bytes = 0
            self.by_path.clear()
            self.searches.clear()


class Archive:
    """The collection files of `folder`, reread when they change."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.cache: dict[Path, tuple[int, dict[str, Any], list[dict[str, Any]]]] = {}
        self.lock = threading.Lock()

    def collection_ids(self, flavour: Flavour) -> list[str]:
        return sorted(
            path.stem for path in (self.folder / "collections" / flavour.name).glob("*.json")
        )

    def load(
        self, flavour: Flavour, collection_id: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The collection and its items (newest first, then by id); KeyError if unknown."""
        if not re.fullmatch(r"[\w.-]+", collection_id):
            raise KeyError(collection_id)
        path = self.folder / "collections" / flavour.name / f"{collection_id}.json"
        if not path.is_file():
            raise KeyError(collection_id)
        modified = path.stat().st_mtime_ns
        with self.lock:
            cached = self.cache.get(path)
            if cached is None or cached[0] != modified:
                document = json.loads(path.read_text())
                if "copies" in document:
                    _, originals = self.load_unlocked(flavour, document["copies"]["of"])
                    items = copies(originals, document["copies"]["count"], collection_id)
                else:
                    items = document["items"]
                items.sort(key=lambda item: item["id"])
                items.sort(key=lambda item: item["properties"]["datetime"], reverse=True)
                cached = (modified, document["collection"], items)
                self.cache[path] = cached
        return cached[1], cached[2]

    def load_unlocked(
        self, flavour: Flavour, collection_id: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        path = self.folder / "collections" / flavour.name / f"{collection_id}.json"
        document = json.loads(path.read_text())
        return document["collection"], document["items"]


# ---------------------------------------------------------------------------------------
# Search: parameters, matching, paging.


@dataclass(frozen=True)
class Search:
    """A search's parameters, from a GET query string or a POST body."""

    collections: list[str] | None
    bbox: list[float] | None
    interval: tuple[datetime | None, datetime | None] | None
    ids: list[str] | None
    limit: int
    query: dict[str, Any] | None
    filter: dict[str, Any] | None
    offset: int


def parse_search(parameters: dict[str, Any], flavour: Flavour) -> Search:
    """The search `parameters` (a POST body, or a GET query string parsed into lists
    joined by commas) ask for; BadRequest names what is wrong."""
    try:
        limit = int(parameters.get("limit", DEFAULT_LIMIT))
    except (TypeError, ValueError):
        raise BadRequest(f"limit {parameters.get('limit')!r} is no integer") from None
    if limit < 1:
        raise BadRequest("limit must be at least 1")
    query, cql = parameters.get("query"), parameters.get("filter")
    if query is not None and not flavour.query:
        raise BadRequest("this API does not offer the query extension")
    if cql is not None and not flavour.filter:
        raise BadRequest("this API does not offer filter")
    if cql is not None and parameters.get("filter-lang", "cql2-json") != "cql2-json":
        raise BadRequest(f"filter-lang {parameters['filter-lang']!r} is not supported")
    if isinstance(query, str) or isinstance(cql, str):
        try:
            query = json.loads(query) if isinstance(query, str) else query
            cql = json.loads(cql) if isinstance(cql, str) else cql
        except json.JSONDecodeError as error:
            raise BadRequest(f"query/filter is no JSON: {error}") from None
    if query is not None:
        check_query(query)
    if cql is not None:
        check_cql2(cql)
    token = parameters.get(flavour.token_param) or parameters.get("token") or "next:0"
    if not re.fullmatch(r"next:\d+", str(token)):
        raise BadRequest(f"token {token!r} is not one this API handed out")
    return Search(
        collections=as_list(parameters.get("collections")),
        bbox=parse_bbox(parameters.get("bbox")),
        interval=parse_interval(parameters.get("datetime")),
        ids=as_list(parameters.get("ids")),
        limit=min(limit, MAX_LIMIT),
        query=query,
        filter=cql,
        offset=int(str(token).removeprefix("next:")),
    )


def as_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    return value.split(",") if isinstance(value, str) else [str(v) for v in value]


def parse_bbox(value: Any) -> list[float] | None:
    if value is None:
        return None
    try:
        box = [float(v) for v in (value.split(",") if isinstance(value, str) else value)]
    except (TypeError, ValueError):
        raise BadRequest(f"bbox {value!r} is not four numbers") from None
    if len(box) != 4 or box[0] > box[2] or box[1] > box[3]:
        raise BadRequest(f"bbox {value!r} is not west,south,east,north")
    return box


def parse_instant(text: str) -> datetime:
    try:
        instant: datetime | None = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        instant = None
    if instant is None or instant.tzinfo is None:
        raise BadRequest(f"{text!r} is no RFC 3339 date-time with a time zone")
    return instant


def parse_interval(value: Any) -> tuple[datetime | None, datetime | None] | None:
    if value is None or value == "":
        return None
    parts = str(value).split("/")
    if len(parts) == 1:
        instant = parse_instant(parts[0])
        return instant, instant
    if len(parts) != 2 or parts == ["..", ".."]:
        raise BadRequest(f"datetime {value!r} is no interval")
    start, end = (None if part in ("..", "") else parse_instant(part) for part in parts)
    return start, end


def check_query(query: Any) -> None:
    if not isinstance(query, dict):
        raise BadRequest("query must be an object")
    for name, conditions in query.items():
        if not isinstance(conditions, dict) or not conditions:
            raise BadRequest(f"query of {name!r} must be an object of operators")
        for op in conditions:
            if op not in QUERY_OPS:
                raise BadRequest(f"query operator {op!r} is not supported")


def check_cql2(node: Any) -> None:
    if not isinstance(node, dict) or not isinstance(node.get("args"), list):
        raise BadRequest(f"filter node {node!r} is no CQL2-JSON operation")
    op, args = node.get("op"), node["args"]
    if op in ("and", "or"):
        for arg in args:
            check_cql2(arg)
    elif op == "not":
        if len(args) != 1:
            raise BadRequest("not takes one argument")
        check_cql2(args[0])
    elif op in CQL2_OPS:
        if len(args) != 2 or sum(isinstance(a, dict) and "property" in a for a in args) != 1:
            raise BadRequest(f"{op} needs one property and one literal")
    else:
        raise BadRequest(f"filter operator {op!r} is not supported")


def property_value(item: dict[str, Any], name: str) -> Any:
    if name in ("id", "collection"):
        return item.get(name)
    return item["properties"].get(name)


def compare(op: Callable[[Any, Any], bool], value: Any, literal: Any) -> bool:
    """`op(value, literal)`, false where either is missing or they do not compare."""
    if isinstance(literal, dict) and "timestamp" in literal:
        literal = parse_instant(literal["timestamp"])
        value = parse_instant(value) if isinstance(value, str) else None
    if value is None or literal is None:
        return False
    try:
        return bool(op(value, literal))
    except TypeError:
        return False


def cql2_holds(node: dict[str, Any], item: dict[str, Any]) -> bool:
    op, args = node["op"], node["args"]
    if op == "and":
        return all(cql2_holds(arg, item) for arg in args)
    if op == "or":
        return any(cql2_holds(arg, item) for arg in args)
    if op == "not":
        return not cql2_holds(args[0], item)
    compared = CQL2_OPS[op]
    if isinstance(args[0], dict) and "property" in args[0]:
        return compare(compared, property_value(item, args[0]["property"]), args[1])
    return compare(lambda a, b: compared(b, a), property_value(item, args[1]["property"]), args[0])


def matches(search: Search, item: dict[str, Any]) -> bool:
    """Whether `item` is one `search` finds (closed datetime interval, bbox intersection)."""
    if search.ids is not None and item["id"] not in search.ids:
        return False
    if search.bbox is not None:
        west, south, east, north = item["bbox"]
        box = search.bbox
        if east < box[0] or west > box[2] or north < box[1] or south > box[3]:
            return False
    if search.interval is not None:
        instant = parse_instant(item["properties"]["datetime"])
        start, end = search.interval
        if (start is not None and instant < start) or (end is not None and instant > end):
            return False
    for name, conditions in (search.query or {}).items():
        for op, literal in conditions.items():
            if not compare(QUERY_OPS[op], property_value(item, name), literal):
                return False
    return search.filter is None or cql2_holds(search.filter, item)


# ---------------------------------------------------------------------------------------
# SAS tokens of the Planetary-Computer-like blob storage.


def sas_token(secret: bytes, ttl: float) -> tuple[str, datetime]:
    """A SAS query string valid for `ttl` seconds, and its expiry."""
    now = datetime.now(UTC).replace(microsecond=0)
    expiry = now + timedelta(seconds=ttl)
    fields = {
        "st": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "se": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sp": "rl",
        "sv": "2021-06-08",
        "sr": "c",
        "skoid": "eoplex-test",
    }
    fields["sig"] = sas_signature(secret, fields["se"])
    return urlencode(fields), expiry


def sas_signature(secret: bytes, expiry: str) -> str:
    digest = hmac.new(secret, expiry.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def sas_refusal(secret: bytes, query: str) -> str | None:
    """Why a blob request with `query` is refused, or None when its token is valid."""
    fields = {key: values[0] for key, values in parse_qs(query).items()}
    if "sig" not in fields or "se" not in fields:
        return "NoAuthenticationInformation"
    if not hmac.compare_digest(fields["sig"], sas_signature(secret, fields["se"])):
        return "AuthenticationFailed"
    if parse_instant(fields["se"]) <= datetime.now(UTC):
        return "AuthenticationFailed: Signed expiry time has passed"
    return None


# ---------------------------------------------------------------------------------------
# HTTP.


class StacApiHandler(BaseHTTPRequestHandler):
    """The routes of the module docstring."""

    protocol_version = "HTTP/1.1"
    archive: Archive
    controls: Controls
    secret: bytes
    route = ""  # the request's key in the statistics
    raw_body = b""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read no access log."""

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_HEAD(self) -> None:
        self.dispatch("HEAD")

    def do_POST(self) -> None:
        self.dispatch("POST")

    @property
    def base(self) -> str:
        port = self.server.server_address[1]  # type: ignore[index]  # an IPv4 address
        return f"http://127.0.0.1:{port}/"

    def body(self) -> Any:
        try:
            return json.loads(self.raw_body) if self.raw_body else {}
        except json.JSONDecodeError:
            raise BadRequest("the body is no JSON") from None

    def dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path.lstrip("/")
        # Read the whole request before answering: the connection is kept alive.
        length = int(self.headers.get("Content-Length", 0))
        self.raw_body = self.rfile.read(length) if length else b""
        if path.startswith("_control/"):
            self.control(method, path.removeprefix("_control/"))
            return
        self.route = route_name(path)
        if self.controls.latency_ms:
            time.sleep(self.controls.latency_ms / 1000)
        failure = self.controls.failure("/" + path)
        if failure is not None:
            headers = {}
            if failure["retry_after"] is not None:
                headers["Retry-After"] = str(failure["retry_after"])
            error = {"code": "InjectedFailure", "description": f"failing {failure['path']}"}
            self.send_json(error, failure["status"], headers=headers)
            return
        try:
            self.answer(method, path, parts.query)
        except BadRequest as error:
            self.send_json({"code": "BadRequest", "description": str(error)}, 400)

    def answer(self, method: str, path: str, query: str) -> None:
        if path.startswith("files/"):
            self.send_file(self.archive.folder / "files", path.removeprefix("files/"), method)
            return
        blob = re.fullmatch(r"blob/[\w.-]+/(.+)", path)
        if blob is not None:
            refusal = sas_refusal(self.secret, query)
            if refusal is not None:
                self.send_bytes(
                    403, f"<Error><Code>{refusal}</Code></Error>".encode(), "application/xml"
                )
                return
            self.send_file(self.archive.folder / "files", blob[1], method)
            return
        if path == f"{SAS_API}/sign" and method == "GET":
            self.sign(query)
            return
        for flavour in FLAVOURS:
            if path.startswith(flavour.prefix) or path + "/" == flavour.prefix:
                route = path.removeprefix(flavour.prefix) if path.startswith(flavour.prefix) else ""
                self.api(flavour, method, route, query)
                return
        self.send_json({"code": "NotFound", "description": f"no route /{path}"}, 404)

    # -- controls ----------------------------------------------------------------------

    def control(self, method: str, name: str) -> None:
        controls = self.controls
        body = self.body() if method == "POST" else {}
        if name == "stats":
            self.send_json(controls.stats(), counted=False)
            return
        if name == "searches":
            with controls.lock:
                self.send_json(list(controls.searches), counted=False)
            return
        if method != "POST":
            self.send_json({"code": "NotFound"}, 404, counted=False)
            return
        with controls.lock:
            if name == "latency":
                controls.latency_ms = float(body["ms"])
            elif name == "fail":
                rule = {key: body.get(key) for key in ("path", "status", "count", "retry_after")}
                re.compile(str(rule["path"]))
                controls.failures.append(rule)
            elif name == "sas_ttl":
                controls.sas_ttl = float(body["seconds"])
        if name == "reset":
            controls.reset()
        self.send_json({}, counted=False)

    # -- the STAC APIs -----------------------------------------------------------------

    def api(self, flavour: Flavour, method: str, route: str, query: str) -> None:
        api = self.base + flavour.prefix
        segments = route.strip("/").split("/") if route.strip("/") else []
        if method == "POST" and segments != ["search"]:
            self.send_json({"code": "MethodNotAllowed"}, 405)
            return
        if not segments:
            self.send_json(landing_page(flavour, api, self.archive.collection_ids(flavour)))
        elif segments == ["conformance"]:
            self.send_json({"conformsTo": flavour.conformance})
        elif segments == ["collections"]:
            documents = [
                self.collection(flavour, api, name) for name in self.archive.collection_ids(flavour)
            ]
            self.send_json({"collections": documents, "links": [{"rel": "root", "href": api}]})
        elif segments[0] == "collections" and len(segments) >= 2:
            self.collection_route(flavour, api, segments[1], segments[2:], query)
        elif segments == ["search"] and method == "POST":
            if not flavour.post_search:
                self.send_json({"code": "MethodNotAllowed"}, 405)
                return
            body = self.body()
            if not isinstance(body, dict):
                raise BadRequest("the body is no JSON object")
            self.search(flavour, api, "POST", body, "search")
        elif segments == ["search"]:
            self.search(flavour, api, "GET", query_parameters(query), "search")
        elif segments == ["queryables"]:
            self.send_json(queryables(api))
        else:
            self.send_json({"code": "NotFound", "description": f"no route {route}"}, 404)

    def collection(self, flavour: Flavour, api: str, name: str) -> dict[str, Any]:
        document, _ = self.archive.load(flavour, name)
        links = [
            {"rel": "self", "href": f"{api}collections/{name}", "type": "application/json"},
            {"rel": "root", "href": api, "type": "application/json"},
            {"rel": "parent", "href": api, "type": "application/json"},
            {
                "rel": "items",
                "href": f"{api}collections/{name}/items",
                "type": "application/geo+json",
            },
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "href": f"{api}collections/{name}/queryables",
            },
        ]
        return {**document, "links": links}

    def collection_route(
        self, flavour: Flavour, api: str, name: str, rest: list[str], query: str
    ) -> None:
        try:
            self.archive.load(flavour, name)
        except KeyError:
            self.send_json({"code": "NotFound", "description": f"no collection {name}"}, 404)
            return
        if not rest:
            self.send_json(self.collection(flavour, api, name))
        elif rest == ["queryables"]:
            self.send_json(queryables(f"{api}collections/{name}/"))
        elif rest == ["items"]:
            parameters = query_parameters(query) | {"collections": name}
            self.search(flavour, api, "GET", parameters, f"collections/{name}/items")
        elif len(rest) == 2 and rest[0] == "items":
            _, items = self.archive.load(flavour, name)
            found = [item for item in items if item["id"] == rest[1]]
            if not found:
                self.send_json({"code": "NotFound", "description": f"no item {rest[1]}"}, 404)
                return
            self.send_json(self.absolute(found[0], api))
        else:
            self.send_json({"code": "NotFound"}, 404)

    def search(
        self, flavour: Flavour, api: str, method: str, parameters: dict[str, Any], route: str
    ) -> None:
        with self.controls.lock:
            self.controls.searches.append(
                {"api": flavour.name, "method": method, "route": route, "parameters": parameters}
            )
        search = parse_search(parameters, flavour)
        found: list[dict[str, Any]] = []
        for name in search.collections or self.archive.collection_ids(flavour):
            try:
                _, items = self.archive.load(flavour, name)
            except KeyError:
                continue
            found.extend(item for item in items if matches(search, item))
        page = found[search.offset : search.offset + search.limit]
        links: list[dict[str, Any]] = [{"rel": "root", "href": api, "type": "application/json"}]
        following = search.offset + len(page)
        if following < len(found):
            links.append(self.next_link(flavour, api, method, parameters, route, following))
        answer: dict[str, Any] = {
            "type": "FeatureCollection",
            "features": [self.absolute(item, api) for item in page],
            "links": links,
        }
        if flavour.name == "earth-search":
            answer |= {"numberMatched": len(found), "numberReturned": len(page)}
        elif flavour.name == "pc":
            answer["numberReturned"] = len(page)
        else:
            answer["context"] = {
                "returned": len(page),
                "limit": search.limit,
                "matched": len(found),
            }
        self.send_json(answer, content_type="application/geo+json")

    def next_link(
        self,
        flavour: Flavour,
        api: str,
        method: str,
        parameters: dict[str, Any],
        route: str,
        offset: int,
    ) -> dict[str, Any]:
        token = f"next:{offset}"
        link: dict[str, Any] = {"rel": "next", "type": "application/geo+json"}
        if method == "POST" and flavour.name == "earth-search":
            return link | {
                "href": api + route,
                "method": "POST",
                "body": {"next": token},
                "merge": True,
            }
        if method == "POST":
            body = {**parameters, flavour.token_param: token}
            return link | {"href": api + route, "method": "POST", "body": body, "merge": False}
        kept = {key: value for key, value in parameters.items() if key not in ("next", "token")}
        if route != "search":
            kept.pop("collections", None)
        kept[flavour.token_param] = token
        return link | {"href": f"{api}{route}?{urlencode(kept)}", "method": "GET"}

    def absolute(self, item: dict[str, Any], api: str) -> dict[str, Any]:
        """`item` with its asset hrefs made absolute URLs of this server, and its links."""
        assets = {}
        for key, asset in item["assets"].items():
            href = asset["href"]
            assets[key] = asset if "://" in href else {**asset, "href": self.base + href}
        collection = f"{api}collections/{item['collection']}"
        links = [
            {
                "rel": "self",
                "href": f"{collection}/items/{item['id']}",
                "type": "application/geo+json",
            },
            {"rel": "parent", "href": collection, "type": "application/json"},
            {"rel": "collection", "href": collection, "type": "application/json"},
            {"rel": "root", "href": api, "type": "application/json"},
        ]
        return {**item, "assets": assets, "links": links}

    def sign(self, query: str) -> None:
        href = (parse_qs(query).get("href") or [""])[0]
        if not href.startswith(self.base + "blob/"):
            self.send_json({"detail": f"{href!r} is no blob of this storage account"}, 400)
            return
        token, expiry = sas_token(self.secret, self.controls.sas_ttl)
        signed = f"{href.split('?')[0]}?{token}"
        self.send_json({"href": signed, "msft:expiry": expiry.strftime("%Y-%m-%dT%H:%M:%SZ")})

    # -- responses ---------------------------------------------------------------------

    def send_file(self, root: Path, relative: str, method: str) -> None:
        path = (root / relative).resolve()
        if not path.is_relative_to(root.resolve()) or not path.is_file():
            self.send_json({"code": "NotFound"}, 404)
            return
        size = path.stat().st_size
        span = byte_range(self.headers.get("Range", ""), size)
        headers = {"Accept-Ranges": "bytes"}
        if method == "HEAD":
            self.send_bytes(200, b"", "image/tiff", headers=headers, length=size)
            return
        start, end = span or (0, size - 1)
        if span is not None:
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        with path.open("rb") as file:
            file.seek(start)
            data = file.read(end - start + 1)
        self.send_bytes(206 if span else 200, data, "image/tiff", headers=headers)

    def send_json(
        self,
        document: Any,
        status: int = 200,
        *,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
        counted: bool = True,
    ) -> None:
        body = json.dumps(document).encode()
        self.send_bytes(status, body, content_type, headers=headers, counted=counted)

    def send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str,
        *,
        headers: dict[str, str] | None = None,
        length: int | None = None,
        counted: bool = True,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        if counted:
            self.controls.count(self.route, len(body))


def route_name(path: str) -> str:
    """The key of a request in `stats()["by_path"]`: `files`, `blob`, `pc/api/sas/v1/sign`,
    or an API's prefix and the first segment of its route (`earth-search/v1/search`,
    `earth-search/v1/collections`, `earth-search/v1/` for the landing page)."""
    first = path.split("/", 1)[0]
    if first in ("files", "blob"):
        return first
    for flavour in FLAVOURS:
        if path.startswith(flavour.prefix):
            return flavour.prefix + path.removeprefix(flavour.prefix).split("/", 1)[0]
    return path


def query_parameters(query: str) -> dict[str, Any]:
    """A GET query string as search parameters (the last value of a repeated one)."""
    return {key: values[-1] for key, values in parse_qs(query).items()}


def landing_page(flavour: Flavour, api: str, collection_ids: list[str]) -> dict[str, Any]:
    links = [
        {"rel": "self", "href": api, "type": "application/json"},
        {"rel": "root", "href": api, "type": "application/json"},
        {"rel": "conformance", "href": f"{api}conformance", "type": "application/json"},
        {"rel": "data", "href": f"{api}collections", "type": "application/json"},
        {"rel": "search", "href": f"{api}search", "type": "application/geo+json", "method": "GET"},
    ]
    if flavour.post_search:
        links.append(
            {
                "rel": "search",
                "href": f"{api}search",
                "type": "application/geo+json",
                "method": "POST",
            }
        )
    links += [
        {"rel": "child", "href": f"{api}collections/{name}", "type": "application/json"}
        for name in collection_ids
    ]
    return {
        "type": "Catalog",
        "stac_version": "1.0.0",
        "id": flavour.name,
        "title": f"{flavour.name} (test)",
        "description": "A STAC API for tests",
        "conformsTo": flavour.conformance,
        "links": links,
    }


def queryables(base: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": f"{base}queryables",
        "type": "object",
        "title": "Queryables",
        "properties": {
            "datetime": {"type": "string", "format": "date-time"},
            "eo:cloud_cover": {"type": "number", "minimum": 0, "maximum": 100},
            "s2:processing_baseline": {"type": "string"},
            "platform": {"type": "string"},
        },
        "additionalProperties": True,
    }


# ---------------------------------------------------------------------------------------
# The test's side.


class StacApi:
    """A running server: its base URL and its controls (see the module)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.earth_search = f"{url}earth-search/v1/"
        self.pc = f"{url}pc/api/stac/v1/"
        self.plain = f"{url}plain/v1/"
        self.sas = f"{url}{SAS_API}"

    def _post(self, name: str, body: dict[str, Any]) -> None:
        httpx.post(f"{self.url}_control/{name}", json=body, timeout=10).raise_for_status()

    def set_latency(self, ms: float) -> None:
        """Delay every request (all routes but the controls) by `ms` milliseconds."""
        self._post("latency", {"ms": ms})

    def fail(
        self, path_regex: str, status: int, count: int | None = None, retry_after: int | None = None
    ) -> None:
        """Answer `status` (with `Retry-After` if given) to the next `count` requests (None:
        all) whose path (from its leading `/`, without the query) matches `path_regex`."""
        body = {"path": path_regex, "status": status, "count": count, "retry_after": retry_after}
        self._post("fail", body)

    def set_sas_ttl(self, seconds: float) -> None:
        """The lifetime of the SAS tokens signed from now on."""
        self._post("sas_ttl", {"seconds": seconds})

    def reset(self) -> None:
        """No latency, no failures, counters and searches at zero, default SAS lifetime."""
        self._post("reset", {})

    def stats(self) -> dict[str, Any]:
        """`{"requests": n, "bytes": n, "by_path": {route: {"requests", "bytes"}}}`: the
        requests answered so far and the body bytes sent (see `route_name`)."""
        answer = httpx.get(f"{self.url}_control/stats", timeout=10)
        answer.raise_for_status()
        stats: dict[str, Any] = answer.json()
        return stats

    def searches(self) -> list[dict[str, Any]]:
        """Every search so far: `{"api", "method", "route", "parameters"}` (GET parameters
        as strings, a POST body as sent)."""
        answer = httpx.get(f"{self.url}_control/searches", timeout=10)
        answer.raise_for_status()
        searches: list[dict[str, Any]] = answer.json()
        return searches


@contextmanager
def serve_stac_api(folder: Path) -> Iterator[StacApi]:
    """The server on `folder` (written by `tests.stac_api_data`), stopped after the block."""
    with server_process("tests.stac_api_server", str(folder)) as port:
        yield StacApi(f"http://127.0.0.1:{port}/")


def stac_api_fixtures(**archive_options: Any) -> tuple[Any, Any, Any]:
    """The fixtures a test module of the STAC API takes, as
    `archive, server, api = stac_api_fixtures(size=32, many=0)`: `archive`, the module's
    `make_sentinel2_archive(**archive_options)`; `server`, the module's server on it; `api`,
    that server with its controls reset before the test."""

    @pytest.fixture(scope="module", name="archive")
    def archive_fixture(tmp_path_factory: pytest.TempPathFactory) -> Sentinel2Archive:
        return make_sentinel2_archive(tmp_path_factory.mktemp("sentinel2"), **archive_options)

    @pytest.fixture(scope="module", name="server")
    def server_fixture(archive: Sentinel2Archive) -> Iterator[StacApi]:
        with serve_stac_api(archive.folder) as running:
            yield running

    @pytest.fixture(name="api")
    def api_fixture(server: StacApi) -> StacApi:
        server.reset()
        return server

    return archive_fixture, server_fixture, api_fixture


class QuietServer(ThreadingHTTPServer):
    """A client that hangs up (GDAL does, after the bytes it wanted) is no error."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main() -> None:
    handler = type(
        "Handler",
        (StacApiHandler,),
        {
            "archive": Archive(Path(sys.argv[1])),
            "controls": Controls(),
            "secret": secrets.token_bytes(32),
        },
    )
    server = QuietServer(("127.0.0.1", 0), handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
