"""load_stac: a static STAC catalog, collection or item, or a STAC API collection, as a cube.

Where the STAC documents come from (`url`):

- an `http(s)://` URL, read with httpx (`StacSettings.timeout_seconds`, documents of at
  most `max_document_bytes`);
- a local path (or `file://` URL) only inside a directory of
  `OPENEO_EXECUTOR_STAC_LOCAL_ROOTS` (paths separated by `:`; empty by default, so no
  server path is readable unless an operator allows it). Local asset files are held to
  the same roots, whichever catalog names them.

A Collection with an `items` link is a STAC API collection: its items are searched on
the API's `/search` (POST, or GET where POST is refused) with the bbox and datetime of
the extents, page by page. Any other Catalog or Collection is walked through its
`child` and `item` links; a FeatureCollection is taken as an item list; an Item as it is.

Items become a cube exactly as in load_collection (`cube_from_sources`): the grid is the
collection's `cube:dimensions` when it has a regular x/y grid, otherwise the grid of the
first item (its CRS, the finest resolution of its requested bands), extended over every
selected item and cropped to `spatial_extent`. A band is a single-band data asset (named
by its band's `name`, else its key) or one band of a multi-band asset (`eo:bands` /
`bands`). Assets are GeoTIFFs (COGs read window by window) by http(s), on the
back-end's S3 (`s3://` in the buckets of `OPENEO_EXECUTOR_STAC_S3_BUCKETS`, by default
the ingested collections' bucket) or local within the allowed roots.

http(s) hosts must resolve to public addresses only, so that a user's graph cannot make
the executor reach the cluster's internal services or a cloud metadata endpoint: each
URL's host is checked before it is requested (for a clear error), and every request,
of documents by httpx and of assets by GDAL, redirects included, goes through the
process's `outbound.GuardProxy`, which connects only to the public addresses it checked
itself. The hosts and ports of the STAC APIs an operator registered collections of
(`eoplex admin collections add-stac-api`) are reachable too, wherever they resolve; no
other private address is. `OPENEO_EXECUTOR_STAC_ALLOW_PRIVATE_NETWORKS=true` lifts the
guard for deployments whose catalogs live on a private network.

The back-end's own batch job results (`<API>/jobs/{job_id}/results`, or its signed
`canonical` link `<API>/jobs/{job_id}/results/signed?...`, as `load_stac_from_job` of the
openEO client sends them) are read inside the back-end, for the job's owner only: the
jobs service gives the results Item of the caller's job (`GetResults` as the caller:
another user's job is not found), and its assets are read from the results bucket, not
through the public URLs and not through the guard. A URL of that shape that names no job
of the caller is an ordinary URL (another back-end's, or a link shared by another user),
which the guard lets through only to public addresses. See docs/decisions/0009.
"""

import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx
import numpy as np
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from rasterio.errors import RasterioError
from rasterio.transform import Affine

from eoplex_common.errors import (
    JobNotFound,
    NoDataAvailable,
    OpenEOError,
    ProcessException,
    ProcessParameterInvalid,
)
from eoplex_executor.engine.cube import RasterCube, parse_datetime
from eoplex_executor.engine.environment import Environment
from eoplex_executor.engine.registry import process
from eoplex_executor.io.cog import Source, cube_from_sources, gdal_path, open_source
from eoplex_executor.io.outbound import (
    RunningProxy,
    allowing,
    guard_proxy,
    refused_address,
    resolve,
)
from eoplex_executor.processes._item_grid import (
    Box,
    Footprint,
    declared_grid,
    items_grid,
    projection_footprint,
)
from eoplex_executor.processes.loading import (
    band_info,
    collection_grid,
    extent_bounds,
    matches_properties,
    property_filters,
    resolve_bands,
    temporal_interval,
)

PROCESS = "load_stac"
GEOTIFF_EXTENSIONS = (".tif", ".tiff")
SEARCH_PAGE_SIZE = 250
MAX_CATALOG_DEPTH = 8
# A job's results below the back-end's API root (the gateway's `/openeo/1.2`, after any
# path of its public URL), and their signed `canonical` link, with any query.
OWN_RESULTS_PATH = re.compile(r"(?:/.*)?/openeo/1\.2/jobs/(?P<job_id>[^/]+)/results(?:/signed)?/?")


class StacSettings(BaseSettings):
    """What load_stac may read (prefix `OPENEO_EXECUTOR_STAC_`), read from the environment of
    the process that runs the graph (a synchronous worker or `run-job`) when it runs.

    - `local_roots`: directories (separated by `:`) whose STAC documents and assets may be
      read by local path or `file://` URL; empty: none.
    - `s3_buckets`: buckets (separated by `,`) whose `s3://` assets may be read with the
      back-end's S3 credentials; by default the ingested collections' bucket, which
      load_collection serves to every user anyway.
    - `allow_private_networks`: whether http(s) hosts may resolve to loopback, private,
      link-local or other non-public addresses; off by default (see the module).
    - `timeout_seconds`, `max_document_bytes`: per STAC document fetched over http(s).
    - `max_documents`, `max_items`: bounds of a static catalog walk and of a search.

    `results_bucket` is the jobs service's `OPENEO_JOBS_RESULTS_BUCKET`: where the caller's
    own job results are read (and nothing else of it). `upstream_endpoints` and
    `own_results` are no settings: load_stac fills them from the catalog (see
    `registered_endpoints`) and from the caller's job results (see `own_results`).
    """

    model_config = SettingsConfigDict(env_prefix="OPENEO_EXECUTOR_STAC_", extra="ignore")

    local_roots: str = ""
    s3_buckets: str = "eoplex-collections"
    allow_private_networks: bool = False
    timeout_seconds: float = Field(30.0, gt=0)
    max_document_bytes: int = Field(10 * 1024 * 1024, gt=0)
    max_documents: int = Field(2000, gt=0)
    max_items: int = Field(10000, gt=0)
    results_bucket: str = Field(
        "eoplex-results", validation_alias=AliasChoices("OPENEO_JOBS_RESULTS_BUCKET")
    )
    upstream_endpoints: frozenset[tuple[str, int]] = Field(frozenset(), exclude=True)
    # The `s3://` hrefs of the results of the caller's job that load_stac reads.
    own_results: frozenset[str] = Field(frozenset(), exclude=True)

    def roots(self) -> list[Path]:
        """The allowed local directories, resolved (symbolic links followed)."""
        return [Path(root).resolve() for root in self.local_roots.split(os.pathsep) if root]

    def buckets(self) -> set[str]:
        return {bucket.strip() for bucket in self.s3_buckets.split(",") if bucket.strip()}


# (address, port) pairs the proxy reaches besides public addresses and the registered
# STAC APIs: none but in tests.
ALSO_ALLOWED: frozenset[tuple[str, int]] = frozenset()


def reachable(settings: StacSettings) -> frozenset[tuple[str, int]]:
    """The (address, port) pairs load_stac reaches besides public addresses."""
    return ALSO_ALLOWED | settings.upstream_endpoints


def registered_endpoints(upstreams: list[str]) -> frozenset[tuple[str, int]]:
    """The (address, port) pairs of the STAC APIs an operator registered collections of
    (their landing-page URLs): load_stac may reach those hosts and ports even where they
    resolve to private addresses (a catalog inside the cluster), and no other private
    address. A host that does not resolve adds nothing."""
    endpoints: set[tuple[str, int]] = set()
    for url in upstreams:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        try:
            endpoints.update((address, port) for address in resolve(parts.hostname or "", port))
        except (OSError, UnicodeError):
            continue
    return frozenset(endpoints)


def outbound_proxy(settings: StacSettings) -> RunningProxy | None:
    """The proxy every http(s) request of load_stac goes through; None when private
    networks are allowed (nothing to guard)."""
    return None if settings.allow_private_networks else guard_proxy(reachable(settings))


def gdal_options(href: str, settings: StacSettings) -> tuple[tuple[str, str], ...]:
    """The GDAL configuration to read the asset `href` with: http(s) through the proxy."""
    proxy = outbound_proxy(settings) if _is_http(href) else None
    return (("GDAL_HTTP_PROXY", f"127.0.0.1:{proxy.port}"),) if proxy is not None else ()


def _invalid(reason: str, parameter: str = "url") -> ProcessParameterInvalid:
    return ProcessParameterInvalid(process=PROCESS, parameter=parameter, reason=reason)


def _no_data(reason: str, parameter: str | None = None) -> NoDataAvailable:
    return NoDataAvailable(process=PROCESS, parameter=parameter, reason=reason)


@process("load_stac", environment=True)
def load_stac(
    url: str,
    spatial_extent: Any,
    temporal_extent: Any,
    bands: list[str] | None,
    properties: Mapping[str, Callable[..., Any]] | None,
    env: Environment,
) -> RasterCube:
    """openEO `load_stac`: the items of a static STAC catalog or a STAC API collection as a
    lazy cube (t, bands, y, x), read as load_collection reads (see the module).

    Raises ProcessParameterInvalid for a URL that is not http(s) or an allowed local path,
    unreachable or oversized documents, JSON that is not STAC, assets outside what may be
    read, unknown bands and malformed extents; TemporalExtentEmpty for an interval whose end
    is not after its start; NoDataAvailable when no item matches the extents, properties and
    bands or the extent misses the grid; ProcessGraphComplexity or
    PaymentRequired beyond the execution's pixel limits. Property conditions are evaluated on
    every item here, whatever the catalog or API supports, so PropertiesUnsupported does not
    happen.
    """
    settings = StacSettings()
    if not settings.allow_private_networks:
        endpoints = registered_endpoints(env.catalog.upstreams())
        settings = settings.model_copy(update={"upstream_endpoints": endpoints})
    with StacReader(settings) as reader, _as_load_stac():
        found = own_results(url, env, settings)
        if found is not None:
            (document, hrefs), location = found, url
            settings = settings.model_copy(update={"own_results": hrefs})
        else:
            location = reader.locate(url)
            document = reader.read_json(location)
        filters = property_filters(properties)
        start, end = temporal_interval(temporal_extent)
        box = extent_bounds(spatial_extent, "EPSG:4326") if spatial_extent is not None else None
        collection, in_extents = _find_items(reader, document, location, box, start, end)
        if not in_extents:
            raise _no_data("no STAC item lies in the spatial and temporal extents.")
        items = [item for item in in_extents if matches_properties(item.document, filters)]
        if not items:
            raise _no_data(_unmatched(in_extents, filters), "properties")
        info = _band_table(collection, items)
        band_names = resolve_bands(bands, info) if bands is not None else list(info)
        items = [item for item in items if any(band in item.bands for band in band_names)]
        if not items:
            raise _no_data("no STAC item has the requested bands.", "bands")
        dimensions = _grid_dimensions(collection, items, band_names, settings)
        grid = collection_grid(dimensions, spatial_extent)
        dates, sources = _sources(items, band_names, info, settings)
        name = str((collection or {}).get("id") or PROCESS)
        return cube_from_sources(grid, dates, sources, band_names, info, env=env, name=name)


def _unmatched(items: list["StacItem"], filters: Mapping[str, Callable[..., Any]]) -> str:
    """Why no item in the extents passes the property conditions: the properties none of
    them has, if any."""
    reason = f"none of the {len(items)} STAC items in the extents meets the property conditions"
    absent = [
        name
        for name in filters
        if not any(name in item.document.get("properties", {}) for item in items)
    ]
    if absent:
        reason += f"; none of them has the properties {', '.join(map(repr, absent))}"
    return reason + "."


def own_results(
    url: str, env: Environment, settings: StacSettings
) -> tuple[dict[str, Any], frozenset[str]] | None:
    """The results of the caller's own batch job that `url` names (see the module), and
    the hrefs of its files on the results bucket; None where `url` names no job of the
    caller. The results Item as it is where it has one file; otherwise one Item per file
    (as a FeatureCollection), dated by the file's own date where it has one (save_result's
    GTiff per date tags its bands with it), so that each date stays a date of the cube.

    Raises ProcessParameterInvalid where the job has no results (not finished, or failed);
    ServiceUnavailable where the jobs service does not answer.
    """
    if not isinstance(url, str) or not _is_http(url):
        return None  # not a URL of results: `locate` says what is wrong with it
    parts = urlsplit(url)
    match = OWN_RESULTS_PATH.fullmatch(parts.path)
    if match is None:
        return None
    job_id = unquote(match["job_id"])
    try:
        document = env.job_results.results(job_id)
    except JobNotFound:
        try:
            check_host(url, settings)
        except ProcessParameterInvalid:
            raise _invalid(
                f"{url} names the batch job {job_id!r}, which is not one of yours (only its "
                f"owner loads its results here), on {parts.hostname}, a non-public address "
                "load_stac may not reach"
            ) from None
        return None
    except OpenEOError as error:
        if error.code in ("JobNotFinished", "JobFailed"):
            raise _invalid(f"the batch job {job_id!r} has no results: {error.message}") from None
        raise
    assets: dict[str, Any] = document.get("assets") or {}
    for name, asset in assets.items():
        # The executor stores each result file as `jobs/<job_id>/<asset name>`.
        asset["href"] = f"s3://{settings.results_bucket}/jobs/{job_id}/{name}"
    hrefs = frozenset(str(asset["href"]) for asset in assets.values())
    if len(assets) < 2:
        return document, hrefs
    return {"type": "FeatureCollection", "features": _per_file(document)}, hrefs


def _per_file(document: dict[str, Any]) -> list[dict[str, Any]]:
    """One Item per asset of a results Item, dated by its file's date where it has one."""
    features = []
    for name, asset in document["assets"].items():
        properties = dict(document.get("properties") or {})
        date = _file_date(asset["href"]) if _is_raster(asset) else None
        if date is not None:
            properties.pop("start_datetime", None)
            properties.pop("end_datetime", None)
            properties["datetime"] = date
        item_id = f"{document.get('id')}/{name}"
        features.append(
            {**document, "id": item_id, "properties": properties, "assets": {name: asset}}
        )
    return features


def _file_date(href: str) -> str | None:
    """The date a result GTiff's bands are tagged with, if any."""
    try:
        with open_source(gdal_path(href), ()) as dataset:
            date = dataset.tags(1).get("datetime")
    except RasterioError as error:
        raise _invalid(f"cannot read the asset {href}: {error}") from None
    return str(date) if date else None


@contextmanager
def _as_load_stac() -> Iterator[None]:
    """Errors of load_collection's shared machinery, named as errors of load_stac."""
    try:
        yield
    except ProcessException as error:
        if error.params.get("process") not in (None, "load_collection"):
            raise
        parameter, reason = error.params.get("parameter"), str(error.params.get("reason"))
        raise type(error)(process=PROCESS, parameter=parameter, reason=reason) from None
    except ProcessParameterInvalid as error:
        if error.params.get("process") != "load_collection":
            raise
        parameter = str(error.params.get("parameter"))
        raise _invalid(
            str(error.params.get("reason")), "url" if parameter == "id" else parameter
        ) from None


# --- reading STAC documents -----------------------------------------------------------------


class StacReader:
    """Reads STAC documents by http(s) or from the allowed local roots, within the limits."""

    def __init__(self, settings: StacSettings) -> None:
        self.settings = settings
        proxy = outbound_proxy(settings)
        self.client = httpx.Client(
            proxy=proxy.url if proxy is not None else None,
            timeout=settings.timeout_seconds,
            follow_redirects=True,
            max_redirects=5,
            # Redirects are requests too: each one's host is checked before it is sent.
            event_hooks={"request": [lambda request: check_host(str(request.url), settings)]},
        )
        self.documents = 0

    def __enter__(self) -> "StacReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def locate(self, href: str, base: str | None = None) -> str:
        """See `locate`."""
        return locate(href, base, self.settings)

    def read_json(self, location: str) -> dict[str, Any]:
        """The JSON object at `location` (see `locate`)."""
        return self.request_json("GET", location)

    def request_json(
        self,
        method: str,
        location: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The JSON object a request answers, or ProcessParameterInvalid saying why not."""
        self.documents += 1
        if self.documents > self.settings.max_documents:
            raise _invalid(
                f"the catalog has more than {self.settings.max_documents} documents to read"
            )
        raw = self._fetch(method, location, body, params) if _is_http(location) else None
        if raw is None:
            raw = self._read_local(location)
        try:
            document = json.loads(raw)
        except ValueError:
            raise _invalid(f"{location} is not JSON, so not a STAC document") from None
        if not isinstance(document, dict):
            raise _invalid(f"{location} is not a STAC document (a JSON object)")
        return document

    def _fetch(self, method: str, url: str, body: Any, params: Mapping[str, str] | None) -> bytes:
        limit = self.settings.max_document_bytes
        try:
            with self.client.stream(method, url, json=body, params=params) as response:
                if response.status_code != 200:
                    raise HttpStatus(response.status_code, url)
                content = bytearray()
                for chunk in response.iter_bytes():
                    content.extend(chunk)
                    if len(content) > limit:
                        raise _invalid(f"{url} is larger than {limit} bytes")
                return bytes(content)
        except httpx.HTTPError as error:
            raise _invalid(f"cannot read {url}: {error.__class__.__name__}: {error}") from None

    def _read_local(self, location: str) -> bytes:
        path = local_path(location, self.settings)
        try:
            if path.stat().st_size > self.settings.max_document_bytes:
                raise _invalid(
                    f"{location} is larger than {self.settings.max_document_bytes} bytes"
                )
            return path.read_bytes()
        except OSError as error:
            raise _invalid(f"cannot read {location}: {error.strerror or error}") from None


def locate(href: str, base: str | None, settings: StacSettings) -> str:
    """An absolute http(s) URL or a resolved local path inside the allowed roots for `href`
    (relative hrefs against `base`); ProcessParameterInvalid otherwise."""
    if not isinstance(href, str) or not href:
        raise _invalid("expected the URL of a STAC catalog, collection or item")
    if base is not None and "://" not in href and not href.startswith("/"):
        href = urljoin(base, href) if _is_http(base) else str(Path(base).parent / href)
    if _is_http(href):
        check_host(href, settings)
        return href
    if href.startswith("file://"):
        href = unquote(urlsplit(href).path)
    if not href.startswith("/"):
        raise _invalid(f"{href!r} is neither an http(s) URL nor an absolute path")
    return str(local_path(href, settings))


def local_path(href: str, settings: StacSettings) -> Path:
    """The resolved path, if it lies inside an allowed root (ProcessParameterInvalid)."""
    path = Path(href).resolve()
    if not any(path.is_relative_to(root) for root in settings.roots()):
        raise _invalid(
            "local paths are readable only inside the directories the operator allowed "
            f"(OPENEO_EXECUTOR_STAC_LOCAL_ROOTS); {href!r} is not inside one"
        )
    return path


def check_host(url: str, settings: StacSettings) -> None:
    """ProcessParameterInvalid unless the URL's host resolves to public addresses only, or
    is a registered STAC API's (or the operator allows private networks): the clear error
    up front, while the proxy enforces the rule on every connection. Resolution failures
    are left to the request."""
    if settings.allow_private_networks:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        return
    refused = refused_address(addresses, port, allowing(reachable(settings)))
    if refused is not None:
        raise _invalid(
            f"{host} resolves to {refused}, a non-public address load_stac may not reach "
            "(OPENEO_EXECUTOR_STAC_ALLOW_PRIVATE_NETWORKS)"
        )


class HttpStatus(ProcessParameterInvalid):
    """A STAC document answered with an HTTP status other than 200."""

    def __init__(self, status: int, url: str) -> None:
        super().__init__(process=PROCESS, parameter="url", reason=f"{url} answered HTTP {status}")
        self.status_code = status


def _is_http(href: str) -> bool:
    return href.lower().startswith(("http://", "https://"))


def _link(document: Mapping[str, Any], rel: str) -> Mapping[str, Any] | None:
    links = [link for link in document.get("links", []) if isinstance(link, dict)]
    return next((link for link in links if link.get("rel") == rel), None)


# --- finding the items --------------------------------------------------------------------


@dataclass
class StacItem:
    """A selected STAC item: its document, location, date and the bands its assets hold."""

    document: dict[str, Any]
    location: str
    date: np.datetime64
    # band name -> (asset, 1-based band of the asset's file, the band's metadata)
    bands: dict[str, tuple[dict[str, Any], int, dict[str, Any]]] = field(default_factory=dict)


def _find_items(
    reader: StacReader,
    document: dict[str, Any],
    location: str,
    box: Box | None,
    start: str,
    end: str,
) -> tuple[dict[str, Any] | None, list[StacItem]]:
    """The collection (if any) and the items of `document` within the box and interval."""
    kind = document.get("type")
    if kind == "Feature":
        found = [_item(document, location, box, start, end)]
        return None, [item for item in found if item is not None]
    if kind == "FeatureCollection":
        found = [_item(feature, location, box, start, end) for feature in features_of(document)]
        return None, [item for item in found if item is not None]
    if kind not in ("Collection", "Catalog"):
        raise _invalid(
            f"{location} is not a STAC Catalog, Collection, Item or ItemCollection "
            f"(its type is {kind!r})"
        )
    collection = document if kind == "Collection" else None
    search = _search_url(reader, collection, location) if collection is not None else None
    if collection is not None and search is not None:
        try:
            return collection, _search(reader, collection, search, box, start, end)
        except HttpStatus as error:
            if error.status_code != 404:
                raise
    # A static catalog (also a collection with an `items` link but no item search).
    return collection, _walk(reader, document, location, box, start, end)


def _walk(
    reader: StacReader,
    catalog: dict[str, Any],
    location: str,
    box: Box | None,
    start: str,
    end: str,
) -> list[StacItem]:
    """Every item below a static catalog, following `child` and `item` links."""
    items: list[StacItem] = []
    pending = [(catalog, location, 0)]
    seen = {location}
    while pending:
        document, where, depth = pending.pop(0)
        for link in document.get("links", []):
            rel = link.get("rel") if isinstance(link, dict) else None
            if rel not in ("child", "item") or not isinstance(link.get("href"), str):
                continue
            target = reader.locate(link["href"], where)
            if target in seen:
                continue
            seen.add(target)
            child = reader.read_json(target)
            if rel == "item" or child.get("type") == "Feature":
                item = _item(child, target, box, start, end)
                if item is not None:
                    items.append(item)
                    _check_count(items, reader.settings)
            elif depth < MAX_CATALOG_DEPTH:
                pending.append((child, target, depth + 1))
    return items


def _search(
    reader: StacReader,
    collection: dict[str, Any],
    url: str,
    box: Box | None,
    start: str,
    end: str,
) -> list[StacItem]:
    """The collection's items from its STAC API's item search at `url`, every page."""
    body: dict[str, Any] = {"collections": [collection.get("id")], "limit": SEARCH_PAGE_SIZE}
    if box is not None:
        body["bbox"] = list(box)
    if start or end:
        body["datetime"] = f"{start or '..'}/{end or '..'}"
    method = "POST"
    try:
        page = reader.request_json("POST", url, body=body)
    except HttpStatus as error:
        if error.status_code not in (404, 405):
            raise
        method = "GET"
        page = reader.request_json("GET", url, params=_query(body))
    items: list[StacItem] = []
    while True:
        if page.get("type") != "FeatureCollection":
            raise _invalid(f"the item search {url} did not answer a FeatureCollection")
        for feature in features_of(page):
            item = _item(feature, url, box, start, end)
            if item is not None:
                items.append(item)
        _check_count(items, reader.settings)
        following = _link(page, "next")
        if following is None or not features_of(page):
            return items
        next_url = reader.locate(str(following.get("href")), url)
        if str(following.get("method", method)).upper() == "POST":
            page = reader.request_json("POST", next_url, body={**body, **following.get("body", {})})
        else:
            page = reader.request_json("GET", next_url)


def features_of(page: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The features of a FeatureCollection that are JSON objects."""
    features = page.get("features")
    return [f for f in features if isinstance(f, dict)] if isinstance(features, list) else []


def _search_url(reader: StacReader, collection: Mapping[str, Any], location: str) -> str | None:
    """The item search of a STAC API collection (one with an `items` link): the `search`
    link of its root document, else `<API>/search`; None for a static collection."""
    if _link(collection, "items") is None:
        return None
    root = _link(collection, "root")
    if root is not None and isinstance(root.get("href"), str):
        root_url = reader.locate(root["href"], location)
        if root_url != location:
            search = _link(reader.read_json(root_url), "search")
            if search is not None and isinstance(search.get("href"), str):
                return reader.locate(search["href"], root_url)
    if "/collections/" not in location:
        return None
    return location.rsplit("/collections/", 1)[0] + "/search"


def _query(body: Mapping[str, Any]) -> dict[str, str]:
    """A search body as GET parameters."""
    query = {"collections": ",".join(body["collections"]), "limit": str(body["limit"])}
    if "bbox" in body:
        query["bbox"] = ",".join(str(value) for value in body["bbox"])
    if "datetime" in body:
        query["datetime"] = body["datetime"]
    return query


def _check_count(items: list[StacItem], settings: StacSettings) -> None:
    if len(items) > settings.max_items:
        raise _invalid(
            f"more than {settings.max_items} STAC items match; narrow the spatial or temporal "
            "extent",
            "spatial_extent",
        )


def _item(
    document: dict[str, Any], location: str, box: Box | None, start: str, end: str
) -> StacItem | None:
    """The item if it lies in the box and the half-open interval; None otherwise."""
    if document.get("type") != "Feature" or not isinstance(document.get("properties"), dict):
        raise _invalid(f"{location} holds an item that is not a STAC Item")
    properties = document["properties"]
    instant = properties.get("datetime") or properties.get("start_datetime")
    if not isinstance(instant, str):
        raise _invalid(f"the STAC item {document.get('id')!r} has no datetime")
    try:
        date = parse_datetime(instant)
    except ValueError:
        raise _invalid(f"the STAC item {document.get('id')!r} has no valid datetime") from None
    if (start and date < parse_datetime(start)) or (end and date >= parse_datetime(end)):
        return None
    bbox = document.get("bbox")
    if box is not None and isinstance(bbox, list) and len(bbox) >= 4:
        # [west, south, east, north], or with heights [west, south, base, east, north, top].
        half = len(bbox) // 2
        west, south, east, north = (float(bbox[i]) for i in (0, 1, half, half + 1))
        if east < box[0] or west > box[2] or north < box[1] or south > box[3]:
            return None
    item = StacItem(document, location, date)
    for key, asset in document.get("assets", {}).items():
        if isinstance(asset, dict) and _is_raster(asset):
            for name, index, meta in _asset_bands(key, asset):
                item.bands.setdefault(name, (asset, index, meta))
    return item


def _is_raster(asset: Mapping[str, Any]) -> bool:
    """A data asset in a GeoTIFF (by media type, or by extension when it has none)."""
    roles = asset.get("roles")
    if roles and "data" not in roles:
        return False
    media_type = str(asset.get("type") or "")
    if media_type:
        return "tiff" in media_type.lower()
    return urlsplit(str(asset.get("href", ""))).path.lower().endswith(GEOTIFF_EXTENSIONS)


def _asset_bands(key: str, asset: Mapping[str, Any]) -> list[tuple[str, int, dict[str, Any]]]:
    """(band name, 1-based band of the file, band metadata) of every band of an asset."""
    described = asset.get("bands") or asset.get("eo:bands") or []
    raster = asset.get("raster:bands") or []
    count = max(len(described), len(raster), 1)
    bands = []
    for index in range(count):
        meta = {
            **(raster[index] if index < len(raster) else {}),
            **(described[index] if index < len(described) else {}),
        }
        fallback = key if count == 1 else f"{key}_{index + 1}"
        bands.append((str(meta.get("name") or fallback), index + 1, meta))
    return bands


# --- bands and grid -----------------------------------------------------------------------


def _band_table(
    collection: Mapping[str, Any] | None, items: list[StacItem]
) -> dict[str, dict[str, Any]]:
    """Band name -> {common_name, data_type, nodata}: the bands the items hold, in the
    collection's order (cube:dimensions or summaries) when it has one, else as they come."""
    described = band_info(collection) if collection is not None else {}
    found: dict[str, dict[str, Any]] = {}
    for item in items:
        for name, (asset, _, meta) in item.bands.items():
            if name in found:
                continue
            known = described.get(name, {})
            nodata = meta.get("nodata", asset.get("nodata", known.get("nodata")))
            found[name] = {
                "common_name": meta.get("common_name")
                or meta.get("eo:common_name")
                or known.get("common_name"),
                "data_type": meta.get("data_type") or known.get("data_type") or "float64",
                "nodata": nodata,
            }
    ordered = [name for name in described if name in found]
    return {name: found[name] for name in [*ordered, *(n for n in found if n not in ordered)]}


def _grid_dimensions(
    collection: Mapping[str, Any] | None,
    items: list[StacItem],
    bands: list[str],
    settings: StacSettings,
) -> dict[str, Any]:
    """`cube:dimensions` x/y of the grid: the collection's when regular, else the first
    item's grid extended over every item (see `_item_grid`)."""
    declared = declared_grid((collection or {}).get("cube:dimensions", {}))
    if declared is not None:
        return declared
    first = items[0]
    # One asset per other item tells its extent: the first requested band it holds.
    return items_grid(
        [
            _footprint(first, first.bands[band][0], settings)
            for band in bands
            if band in first.bands
        ],
        [
            _footprint(item, item.bands[next(b for b in bands if b in item.bands)][0], settings)
            for item in items[1:]
        ],
    )


def _footprint(item: StacItem, asset: Mapping[str, Any], settings: StacSettings) -> Footprint:
    """The asset's grid from the STAC projection extension, else from the file's header."""
    found = projection_footprint(asset, item.document.get("properties", {}))
    if found is not None:
        return found
    href = _asset_href(str(asset.get("href", "")), item.location, settings)
    try:
        with open_source(gdal_path(href), gdal_options(href, settings)) as dataset:
            epsg = dataset.crs.to_epsg() if dataset.crs else None
            if epsg is None:
                raise _invalid(f"the asset {href} has no CRS with an EPSG code")
            return Footprint(epsg, dataset.transform, dataset.width, dataset.height)
    except RasterioError as error:
        raise _invalid(f"cannot read the asset {href}: {error}") from None


def _sources(
    items: list[StacItem],
    bands: list[str],
    info: Mapping[str, Mapping[str, Any]],
    settings: StacSettings,
) -> tuple[np.ndarray, list[list[list[Source]]]]:
    """Sorted date labels and, per date and band, the asset bands to mosaic."""
    by_date: dict[np.datetime64, list[StacItem]] = {}
    for item in items:
        by_date.setdefault(item.date, []).append(item)
    dates = sorted(by_date)
    sources = [
        [
            [
                _source(item, *item.bands[band][:2], info[band], settings)
                for item in by_date[date]
                if band in item.bands
            ]
            for band in bands
        ]
        for date in dates
    ]
    return np.array(dates, dtype="datetime64[ns]"), sources


def _source(
    item: StacItem,
    asset: Mapping[str, Any],
    band: int,
    info: Mapping[str, Any],
    settings: StacSettings,
) -> Source:
    """A Source of load_collection's reader for one band of an asset that may be read."""
    href = _asset_href(str(asset.get("href", "")), item.location, settings)
    nodata = info.get("nodata")
    return Source(
        href=gdal_path(href),
        crs="",
        transform=Affine.identity(),
        nodata=float("nan") if nodata == "nan" else nodata,
        band=band,
        gdal_options=gdal_options(href, settings),
        named_by=PROCESS,
    )


def _asset_href(href: str, base: str, settings: StacSettings) -> str:
    """The asset's absolute location, if it may be read: http(s), an allowed S3 bucket, or
    a local file inside the allowed roots (ProcessParameterInvalid otherwise)."""
    if href.startswith("s3://"):
        bucket = href.removeprefix("s3://").split("/", 1)[0]
        if bucket not in settings.buckets() and href not in settings.own_results:
            raise _invalid(f"the asset {href} is in an S3 bucket load_stac may not read")
        return href
    if "://" in href and not _is_http(href) and not href.startswith("file://"):
        raise _invalid(f"the asset {href} is neither http(s), s3 nor a file")
    return locate(href, base, settings)
