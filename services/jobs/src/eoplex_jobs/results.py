"""The document of `GET /jobs/{job_id}/results`: a STAC 1.0 Item (openEO 1.2
`batch_job_result`), built purely from the job, a function that links each asset, and the
signed link to the document itself (`canonical`: whoever holds it can read the results
until they expire).

Each asset the executor reported (`name`, `key`, `type`, `roles`, `file:size`, and its
projection and band metadata) becomes a STAC asset whose `href` is a signed URL.
An asset's WGS 84 `bbox` and its dates (`datetime` of a file per date, or the
`start_datetime` and `end_datetime` of the data it was computed from) make up the Item's
footprint and time range: one instant is the Item's `datetime`, several are a range
(`datetime` null). Without them the Item has no geometry and the job's end as datetime.
"""

from collections.abc import Callable
from datetime import UTC, datetime

from eoplex_common.documents import Document

# The signed URL of an asset, from what the executor reported of it.
AssetHref = Callable[[Document], str]

STAC_VERSION = "1.0.0"
# The extension schemas the asset fields below belong to.
EXTENSIONS = {
    "file:": "https://stac-extensions.github.io/file/v2.1.0/schema.json",
    "proj:": "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "eo:": "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    "raster:": "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
}
# What the executor reports about an asset that is not a STAC asset field.
_ITEM_LEVEL = ("name", "key", "bbox", "datetime", "start_datetime", "end_datetime")


def rfc3339(value: datetime) -> str:
    """An instant as RFC 3339 in UTC with a `Z`."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def result_asset(asset: Document, *, href: str) -> Document:
    """One STAC asset: the executor's metadata without the storage key, and `href`."""
    fields = {name: value for name, value in asset.items() if name not in _ITEM_LEVEL}
    return {"href": href, **fields}


def _footprint(assets: list[Document]) -> tuple[list[float] | None, Document | None]:
    boxes = [a["bbox"] for a in assets if isinstance(a.get("bbox"), list) and len(a["bbox"]) == 4]
    if not boxes:
        return None, None
    west, south = min(b[0] for b in boxes), min(b[1] for b in boxes)
    east, north = max(b[2] for b in boxes), max(b[3] for b in boxes)
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return [west, south, east, north], {"type": "Polygon", "coordinates": [ring]}


def _time_properties(job: Document, assets: list[Document]) -> Document:
    times = sorted(
        str(asset[name])
        for asset in assets
        for name in ("datetime", "start_datetime", "end_datetime")
        if isinstance(asset.get(name), str)
    )
    if len(set(times)) > 1:
        return {"datetime": None, "start_datetime": times[0], "end_datetime": times[-1]}
    if times:
        return {"datetime": times[0]}
    return {"datetime": rfc3339(job.get("finished_at") or job["updated"])}


def _extensions(assets: list[Document]) -> list[str]:
    used = {name for asset in assets for name in asset}
    return [
        schema
        for prefix, schema in EXTENSIONS.items()
        if any(name.startswith(prefix) for name in used)
    ]


def results_document(
    job: Document, *, href: AssetHref, canonical: str, expires: datetime
) -> Document:
    """The STAC Item of a finished job's results, every asset `href` made by `href(asset)`
    and the Item's own signed URL `canonical`, all valid until `expires`."""
    assets: list[Document] = job.get("assets") or []
    bbox, geometry = _footprint(assets)
    properties: Document = {
        **_time_properties(job, assets),
        "created": rfc3339(job["created"]),
        "updated": rfc3339(job["updated"]),
        "expires": rfc3339(expires),
        "openeo:status": job["status"],
    }
    for name in ("title", "description"):
        if job.get(name):
            properties[name] = job[name]
    document: Document = {
        "stac_version": STAC_VERSION,
        "stac_extensions": _extensions(assets),
        "type": "Feature",
        "id": job["_id"],
        "geometry": geometry,
        "properties": properties,
        "assets": {asset["name"]: result_asset(asset, href=href(asset)) for asset in assets},
        "links": [{"rel": "canonical", "href": canonical, "type": "application/geo+json"}],
    }
    if bbox is not None:
        document["bbox"] = bbox
    return document
