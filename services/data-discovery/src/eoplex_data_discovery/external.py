"""Pure translation of an external STAC API's documents into the catalog's conventions.

A stac-api collection is registered by an operator (`eoplex admin collections
add-stac-api`) as a `StacApiSource`; its document is the upstream collection
translated by `translate_collection`, and its items are the upstream items
translated by `translate_item` when they are searched.

Bands are the upstream `item_assets` entries with role `data` (or no roles) that
carry one entry of `raster:bands` (`bands_from="raster:bands"`, the default) or of
`eo:bands` (`bands_from="eo:bands"`), in `item_assets` order. When no entry carries
the chosen field, the entries carrying the other one are the bands (Planetary
Computer describes its bands by `eo:bands` only). Without `item_assets`, the assets
of an upstream item stand in. A band is named after its asset key unless the
operator renames it (`overrides["bands"]`: asset key -> band name).

The collection is described in WGS84 without a grid (no `step`) unless the operator
declares one in `overrides["cube:dimensions"]`: `x` and `y` with `reference_system`
(an EPSG code), `step` and `extent` in that CRS; the executor then reads onto it.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from pyproj import CRS
from pyproj.exceptions import CRSError

from eoplex_common.errors import BadRequest
from eoplex_data_discovery.documents import (
    JSON_SCHEMA_DRAFT,
    KNOWN_QUERYABLES,
    STAC_VERSION,
    normalize_collection,
)

KIND_INGEST = "ingest"
KIND_STAC_API = "stac-api"
BANDS_FROM = ("raster:bands", "eo:bands")
SIGNING = ("", "planetary-computer")
S3_ACCESS = ("", "anonymous", "credentials", "requester-pays")
MOSAIC = ("least-cloudy-first", "newest-first")
OVERRIDES = ("title", "description", "bands", "cube:dimensions", "mosaic")
DEFAULT_SIGNING_URL = "https://planetarycomputer.microsoft.com/api/sas/v1"
# An entry of the mounted credentials directory: a plain file name.
SECRET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
CREDENTIAL_FIELDS = ("access_key_id", "secret_access_key", "session_token")
EXTENSIONS = (
    "https://stac-extensions.github.io/datacube/v2.2.0/schema.json",
    "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
)
# The fields of a band's `raster:bands` entry the executor reads.
RASTER_FIELDS = ("data_type", "nodata", "scale", "offset")
EO_FIELDS = ("name", "common_name", "center_wavelength")
PROJ_FIELDS = ("proj:epsg", "proj:transform", "proj:shape")


@dataclass(frozen=True, kw_only=True)
class StacApiSource:
    """Where a stac-api collection comes from and how its assets are read.

    `url` is the STAC API's landing page; the credentials themselves are never part of
    it (they live in the store's `upstream_credentials` or the mounted secret named
    `credentials_secret`).
    """

    url: str
    upstream_collection: str
    bands_from: str = "raster:bands"
    signing: str = ""
    signing_url: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)
    s3_access: str = ""
    s3_endpoint: str = ""
    s3_region: str = ""
    credentials_secret: str = ""

    @property
    def collection_url(self) -> str:
        """The upstream collection's URL (`{landing page}/collections/{id}`)."""
        return f"{self.url.rstrip('/')}/collections/{quote(self.upstream_collection, safe='')}"

    @property
    def mosaic(self) -> str:
        """The order in which items of one date are mosaicked."""
        return str(self.overrides.get("mosaic") or MOSAIC[0])


@dataclass(frozen=True, kw_only=True)
class Band:
    """One band of a stac-api collection: the upstream asset holding it and its metadata."""

    asset_key: str
    name: str
    eo: dict[str, Any]
    raster: dict[str, Any]


def _choice(value: str, allowed: tuple[str, ...], *, name: str) -> str:
    if value not in allowed:
        raise BadRequest(reason=f"{name} must be one of {[a for a in allowed if a]}, not {value!r}")
    return value


def _http_url(url: str, *, name: str) -> str:
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        # The URL is shown to users (the collection's `via` link): never with a secret.
        raise BadRequest(reason=f"{name} must not carry credentials")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(reason=f"{name} must be an http(s) URL, not {url!r}")
    return url


def check_source(source: StacApiSource, *, has_credentials: bool) -> StacApiSource:
    """The registration as stored: defaults filled in; BadRequest naming what is wrong.

    `has_credentials` says whether credentials were given (by value or as a secret).
    `s3_access` "" means "anonymous" without credentials and "credentials" with them;
    "credentials" and "requester-pays" need credentials, "anonymous" refuses them.
    """
    _http_url(source.url, name="the STAC API URL")
    if not source.upstream_collection:
        raise BadRequest(reason="the upstream collection id is missing")
    _choice(source.bands_from, BANDS_FROM, name="bands_from")
    _choice(source.signing, SIGNING, name="signing")
    if source.signing_url:
        _http_url(source.signing_url, name="signing_url")
    access = _choice(source.s3_access, S3_ACCESS, name="s3_access")
    if not access:
        access = "credentials" if has_credentials else "anonymous"
    if access == "anonymous" and has_credentials:
        raise BadRequest(reason="s3_access 'anonymous' takes no credentials")
    if access != "anonymous" and not has_credentials:
        raise BadRequest(reason=f"s3_access {access!r} needs credentials")
    if source.s3_endpoint:
        _check_endpoint(source.s3_endpoint)
    if source.credentials_secret and not SECRET_NAME.match(source.credentials_secret):
        raise BadRequest(
            reason="credentials_secret must be a file name of the credentials directory"
        )
    check_overrides(source.overrides)
    signing_url = source.signing_url or (DEFAULT_SIGNING_URL if source.signing else "")
    return StacApiSource(
        **{**source.__dict__, "s3_access": access, "signing_url": signing_url.rstrip("/")}
    )


def _check_endpoint(endpoint: str) -> None:
    parts = urlsplit(endpoint if "//" in endpoint else f"//{endpoint}")
    try:
        valid = bool(parts.hostname) and parts.scheme in ("", "http", "https") and parts.port != 0
    except ValueError:
        valid = False
    if not valid or parts.path.strip("/") or parts.query or parts.username:
        raise BadRequest(reason="s3_endpoint must be host[:port] or http(s)://host[:port]")


def check_credentials(credentials: Any, *, what: str) -> dict[str, str]:
    """`{"access_key_id", "secret_access_key", "session_token"?}`; BadRequest naming `what`
    (never the values) otherwise."""
    if not isinstance(credentials, dict) or not all(
        isinstance(credentials.get(name), str) and credentials[name]
        for name in CREDENTIAL_FIELDS[:2]
    ):
        raise BadRequest(reason=f"{what} need string access_key_id and secret_access_key")
    unknown = set(credentials) - set(CREDENTIAL_FIELDS)
    if unknown or not isinstance(credentials.get("session_token", ""), str):
        raise BadRequest(reason=f"{what} may hold only {list(CREDENTIAL_FIELDS)} (strings)")
    return {name: credentials[name] for name in CREDENTIAL_FIELDS if credentials.get(name)}


def check_overrides(overrides: Any) -> None:
    """BadRequest naming the first override that is not what `translate_collection` takes."""
    if not isinstance(overrides, dict):
        raise BadRequest(reason="overrides must be a JSON object")
    unknown = sorted(set(overrides) - set(OVERRIDES))
    if unknown:
        raise BadRequest(reason=f"unknown overrides {unknown}; known: {list(OVERRIDES)}")
    for name in ("title", "description"):
        if not isinstance(overrides.get(name, ""), str):
            raise BadRequest(reason=f"overrides.{name} must be a string")
    renames = overrides.get("bands", {})
    if not isinstance(renames, dict) or not all(
        isinstance(value, str) and value for value in renames.values()
    ):
        raise BadRequest(reason="overrides.bands must map asset keys to band names (strings)")
    if "mosaic" in overrides:
        _choice(overrides["mosaic"], MOSAIC, name="overrides.mosaic")
    _check_dimension_overrides(overrides.get("cube:dimensions", {}))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_dimension_overrides(dimensions: Any) -> None:
    if not isinstance(dimensions, dict):
        raise BadRequest(reason="overrides.cube:dimensions must be an object")
    unknown = sorted(set(dimensions) - {"x", "y", "t"})
    if unknown:
        raise BadRequest(reason=f"overrides.cube:dimensions may set x, y and t, not {unknown}")
    if ("x" in dimensions) != ("y" in dimensions):
        raise BadRequest(reason="overrides.cube:dimensions must declare both x and y")
    systems = set()
    for axis in ("x", "y"):
        if axis not in dimensions:
            continue
        spec, where = dimensions[axis], f"overrides.cube:dimensions.{axis}"
        if not isinstance(spec, dict):
            raise BadRequest(reason=f"{where} must be an object")
        system = spec.get("reference_system")
        if not isinstance(system, int) or isinstance(system, bool) or not _is_epsg(system):
            raise BadRequest(reason=f"{where}.reference_system must be an EPSG code (integer)")
        systems.add(system)
        if not _number(spec.get("step")) or spec["step"] <= 0:
            raise BadRequest(reason=f"{where}.step must be a positive number")
        extent = spec.get("extent")
        if not (
            isinstance(extent, list)
            and len(extent) == 2
            and all(_number(v) for v in extent)
            and extent[0] < extent[1]
        ):
            raise BadRequest(reason=f"{where}.extent must be [minimum, maximum] in its CRS")
    if len(systems) > 1:
        raise BadRequest(reason="overrides.cube:dimensions x and y need the same reference_system")
    temporal = dimensions.get("t", {})
    if not isinstance(temporal, dict) or set(temporal) - {"step"}:
        raise BadRequest(reason="overrides.cube:dimensions.t may set only `step`")
    if not isinstance(temporal.get("step"), str | None):
        raise BadRequest(reason="overrides.cube:dimensions.t.step must be an ISO 8601 duration")


def _is_epsg(code: int) -> bool:
    try:
        CRS.from_epsg(code)
    except CRSError:
        return False
    return True


def _first(entries: Any) -> dict[str, Any] | None:
    """The only entry of a one-band list, else None."""
    if isinstance(entries, list) and len(entries) == 1 and isinstance(entries[0], dict):
        return entries[0]
    return None


def _band_assets(assets: Mapping[str, Any], field_name: str) -> list[str]:
    return [
        key
        for key, asset in assets.items()
        if isinstance(asset, dict)
        and ("data" in asset.get("roles", ["data"]))
        and _first(asset.get(field_name)) is not None
    ]


def upstream_bands(
    assets: Mapping[str, Any], *, bands_from: str, renames: Mapping[str, str]
) -> list[Band]:
    """The bands described by `item_assets` (or an item's assets), in their order.

    Raises BadRequest when there are none, when a rename names no band asset, or when
    two bands would share a name.
    """
    other = BANDS_FROM[1 - BANDS_FROM.index(bands_from)]
    keys = _band_assets(assets, bands_from) or _band_assets(assets, other)
    if not keys:
        raise BadRequest(
            reason=f"the upstream collection describes no data asset with {bands_from} or {other}"
        )
    unknown = sorted(set(renames) - set(keys))
    if unknown:
        raise BadRequest(
            reason=f"overrides.bands renames {unknown}, which are not band assets; "
            f"band assets: {keys}"
        )
    bands = [
        Band(
            asset_key=key,
            name=renames.get(key, key),
            eo=_first(assets[key].get("eo:bands")) or {},
            raster=_first(assets[key].get("raster:bands")) or {},
        )
        for key in keys
    ]
    names = [band.name for band in bands]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise BadRequest(reason=f"band names {duplicates} are given to more than one asset")
    return bands


def _pick(entry: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: entry[name] for name in fields if entry.get(name) is not None}


def _extent(upstream: Mapping[str, Any], where: str) -> tuple[list[float], list[str | None]]:
    """The first (overall) WGS84 box and time interval of the upstream extent."""
    extent = upstream.get("extent")
    try:
        bbox = [float(v) for v in extent["spatial"]["bbox"][0]]  # type: ignore[index]
        interval = list(extent["temporal"]["interval"][0])  # type: ignore[index]
    except (TypeError, KeyError, IndexError, ValueError):
        raise BadRequest(reason=f"{where} has no spatial and temporal extent") from None
    if len(bbox) not in (4, 6) or len(interval) != 2:
        raise BadRequest(reason=f"{where} has a malformed extent")
    half = len(bbox) // 2
    return [bbox[0], bbox[1], bbox[half], bbox[half + 1]], interval


def _dimensions(
    bbox: list[float], interval: list[str | None], bands: list[Band], declared: Mapping[str, Any]
) -> dict[str, Any]:
    west, south, east, north = bbox
    dimensions: dict[str, Any] = {
        "x": {"type": "spatial", "axis": "x", "extent": [west, east], "reference_system": 4326},
        "y": {"type": "spatial", "axis": "y", "extent": [south, north], "reference_system": 4326},
        "t": {"type": "temporal", "extent": interval},
        "bands": {"type": "bands", "values": [band.name for band in bands]},
    }
    for name, spec in declared.items():
        dimensions[name] = {**dimensions[name], **spec}
    return dimensions


def translate_collection(
    upstream: Any,
    *,
    collection_id: str,
    source: StacApiSource,
    item_assets: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Our collection document of an upstream STAC collection (see the module docstring).

    `item_assets` stands in for the upstream's own when it has none (the assets of an
    item). Raises BadRequest when the upstream document or the overrides do not make a
    valid openEO collection.
    """
    where = f"upstream collection {source.collection_url}"
    if not isinstance(upstream, dict):
        raise BadRequest(reason=f"{where} is not a JSON object")
    assets = upstream.get("item_assets") or item_assets or {}
    if not isinstance(assets, dict):
        raise BadRequest(reason=f"{where} has malformed item_assets")
    overrides = source.overrides
    bands = upstream_bands(assets, bands_from=source.bands_from, renames=overrides.get("bands", {}))
    bbox, interval = _extent(upstream, where)
    summaries = upstream.get("summaries")
    summaries = dict(summaries) if isinstance(summaries, dict) else {}
    summaries["eo:bands"] = [{**_pick(band.eo, EO_FIELDS), "name": band.name} for band in bands]
    summaries["raster:bands"] = [_pick(band.raster, RASTER_FIELDS) for band in bands]
    document: dict[str, Any] = {
        "type": "Collection",
        "stac_version": STAC_VERSION,
        # Only the extensions of the fields kept: the upstream's may describe fields we
        # drop (`item-assets` requires `item_assets`).
        "stac_extensions": list(EXTENSIONS),
        "id": collection_id,
        "title": overrides.get("title") or upstream.get("title") or collection_id,
        "description": overrides.get("description") or upstream.get("description") or "",
        "license": upstream.get("license") or "other",
        "extent": {
            "spatial": {"bbox": [bbox]},
            "temporal": {"interval": [interval]},
        },
        "cube:dimensions": _dimensions(bbox, interval, bands, overrides.get("cube:dimensions", {})),
        "summaries": summaries,
        "links": [{"rel": "via", "href": source.collection_url, "type": "application/json"}],
    }
    for name in ("providers", "keywords"):
        if isinstance(upstream.get(name), list):
            document[name] = upstream[name]
    if not isinstance(document["title"], str) or not isinstance(document["description"], str):
        raise BadRequest(reason=f"{where} has a title or description that is not a string")
    return normalize_collection(document)


def translate_queryables(upstream: Any, *, title: str) -> dict[str, Any]:
    """`GET /collections/{id}/queryables` of a stac-api collection: the upstream's
    properties (what its search understands), or without any, the well-known STAC
    properties. The gateway adds `$id`."""
    properties = upstream.get("properties") if isinstance(upstream, dict) else None
    if not isinstance(properties, dict) or not properties:
        properties = KNOWN_QUERYABLES
    additional = upstream.get("additionalProperties") if isinstance(upstream, dict) else None
    return {
        "$schema": JSON_SCHEMA_DRAFT,
        "type": "object",
        "title": title,
        "properties": dict(properties),
        "additionalProperties": additional if isinstance(additional, bool) else True,
    }


def collection_bands(document: Mapping[str, Any], source: StacApiSource) -> list[Band]:
    """The bands of a translated collection document, with their upstream asset keys."""
    names = document["cube:dimensions"]["bands"]["values"]
    summaries = document["summaries"]
    asset_keys = {name: key for key, name in source.overrides.get("bands", {}).items()}
    return [
        Band(
            asset_key=asset_keys.get(name, name),
            name=name,
            eo=summaries["eo:bands"][index],
            raster=summaries["raster:bands"][index],
        )
        for index, name in enumerate(names)
    ]


def _epsg(entry: Mapping[str, Any]) -> int | None:
    epsg = entry.get("proj:epsg")
    if isinstance(epsg, int) and not isinstance(epsg, bool):
        return epsg
    code = entry.get("proj:code")
    if isinstance(code, str) and code.upper().startswith("EPSG:") and code[5:].isdigit():
        return int(code[5:])
    return None


def _band_asset(
    asset: Mapping[str, Any], band: Band, properties: Mapping[str, Any]
) -> dict[str, Any]:
    translated = dict(asset)
    raster = _first(asset.get("raster:bands"))
    translated["raster:bands"] = [
        _pick(raster if raster is not None else band.raster, RASTER_FIELDS)
    ]
    epsg = _epsg(asset) or _epsg(properties)
    if epsg is not None:
        translated["proj:epsg"] = epsg
    for name in PROJ_FIELDS[1:]:
        value = asset.get(name, properties.get(name))
        if value is not None:
            translated[name] = value
    return translated


def translate_item(item: Any, *, collection_id: str, bands: list[Band]) -> dict[str, Any]:
    """Our item of an upstream STAC item: band assets under their band names with
    `raster:bands` and `proj:*` on each, `collection` = our id, no links.

    Hrefs are kept as they are: the executor signs them when it reads. Raises
    BadRequest for an item that is not an object with an id and assets.
    """
    if not isinstance(item, dict) or not isinstance(item.get("assets"), dict):
        raise BadRequest(reason="an upstream item is not a STAC Item with assets")
    properties = item.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    assets = dict(item["assets"])
    translated = {}
    for band in bands:
        asset = assets.pop(band.asset_key, None)
        if isinstance(asset, dict):
            translated[band.name] = _band_asset(asset, band, properties)
    return {
        **item,
        "type": "Feature",
        "stac_version": item.get("stac_version", STAC_VERSION),
        "collection": collection_id,
        "links": [],
        "assets": {**assets, **translated},
    }


def gdal_options(source: StacApiSource, credentials: Mapping[str, str] | None) -> dict[str, str]:
    """The GDAL configuration options to read the collection's `s3://` assets with.

    Anonymous access signs no request (`AWS_NO_SIGN_REQUEST=YES`); "credentials" and
    "requester-pays" sign with the given credentials, the latter also paying for the
    transfer (`AWS_REQUEST_PAYER=requester`). A custom endpoint (`host[:port]`, HTTPS,
    or `http://host[:port]`) is addressed by path (`AWS_VIRTUAL_HOSTING=FALSE`); AWS
    itself defaults to the region us-west-2, where most public archives are.
    """
    options: dict[str, str] = {}
    if source.s3_access == "anonymous":
        options["AWS_NO_SIGN_REQUEST"] = "YES"
    else:
        given = credentials or {}
        options["AWS_NO_SIGN_REQUEST"] = "NO"
        options["AWS_ACCESS_KEY_ID"] = given.get("access_key_id", "")
        options["AWS_SECRET_ACCESS_KEY"] = given.get("secret_access_key", "")
        if given.get("session_token"):
            options["AWS_SESSION_TOKEN"] = given["session_token"]
        if source.s3_access == "requester-pays":
            options["AWS_REQUEST_PAYER"] = "requester"
    if source.s3_endpoint:
        endpoint = urlsplit(
            source.s3_endpoint if "//" in source.s3_endpoint else f"//{source.s3_endpoint}"
        )
        options["AWS_S3_ENDPOINT"] = endpoint.netloc
        options["AWS_HTTPS"] = "NO" if endpoint.scheme == "http" else "YES"
        options["AWS_VIRTUAL_HOSTING"] = "FALSE"
    region = source.s3_region or ("" if source.s3_endpoint else "us-west-2")
    if region:
        options["AWS_REGION"] = region
    return options
