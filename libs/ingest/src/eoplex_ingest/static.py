"""Ingest of a static STAC catalog: a collection.json and the items it links to.

The documents are kept as they are, except: structural links are dropped (the
gateway builds them), relative asset hrefs become absolute, an asset holding one band
described by `eo:bands` is keyed by that band's name, items point to the collection's
id, and a collection without `cube:dimensions`/`summaries` (which openEO requires) gets
them derived from its items' projection and assets.
"""

import json
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from eoplex_ingest.errors import IngestError
from eoplex_ingest.ingest import CollectionDocuments
from eoplex_ingest.stac import Bounds, grid_bounds

# Links the gateway builds itself; others (license, about, ...) are kept if absolute.
STRUCTURAL_RELS = {"self", "root", "parent", "child", "item", "items", "collection"}


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a file; `IngestError` naming the file if unreadable."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise IngestError(f"not a readable JSON document ({error})", path=path) from error
    if not isinstance(document, dict):
        raise IngestError("not a JSON object", path=path)
    return document


def absolute_href(href: str, base: Path) -> str:
    """`href` as an absolute path or URL, relative ones resolved against the file `base`."""
    if urlsplit(href).scheme:
        return href
    return str((base.parent / href).resolve())


def normalize_item(item: dict[str, Any], *, collection_id: str, path: Path) -> dict[str, Any]:
    """One linked item: absolute asset hrefs, assets keyed by band name, no links."""
    properties = item.get("properties") or {}
    if not (properties.get("datetime") or properties.get("start_datetime")):
        raise IngestError(f"item {item.get('id')!r} has no datetime", path=path)
    assets = {}
    for key, asset in (item.get("assets") or {}).items():
        bands = asset.get("eo:bands") or []
        name = bands[0]["name"] if len(bands) == 1 and bands[0].get("name") else key
        assets[name] = {**asset, "href": absolute_href(asset["href"], path)}
    return {**item, "collection": collection_id, "assets": assets, "links": []}


def read_static_collection(path: Path, *, collection_id: str | None = None) -> CollectionDocuments:
    """The collection at `path` and its `item` links, ready to register (optionally renamed)."""
    collection = read_json(path)
    if collection.get("type") != "Collection":
        raise IngestError("not a STAC Collection (type is not 'Collection')", path=path)
    collection_id = collection_id or collection.get("id")
    if not collection_id:
        raise IngestError("the collection has no id", path=path)
    items = []
    for link in collection.get("links") or []:
        if link.get("rel") != "item":
            continue
        href = link["href"]
        if urlsplit(href).scheme not in ("", "file"):
            raise IngestError(f"only local item links can be read, not {href}", path=path)
        item_path = Path(urlsplit(urljoin(path.resolve().as_uri(), href)).path)
        items.append(
            normalize_item(read_json(item_path), collection_id=collection_id, path=item_path)
        )
    if not items:
        raise IngestError("the collection links to no items (rel=item)", path=path)
    links = [
        link
        for link in collection.get("links") or []
        if link.get("rel") not in STRUCTURAL_RELS and urlsplit(link.get("href", "")).scheme
    ]
    collection = {**collection, "id": collection_id, "links": links}
    return CollectionDocuments(complete_collection(collection, items), items)


def _item_grid(item: dict[str, Any]) -> tuple[int, Bounds, float | None]:
    """EPSG code, bounds in it and pixel size of an item (WGS84 bbox when it has no proj:*)."""
    properties = item["properties"]
    epsg = properties.get("proj:epsg")
    if epsg is None and str(properties.get("proj:code", "")).startswith("EPSG:"):
        epsg = int(properties["proj:code"].removeprefix("EPSG:"))
    transform, shape = properties.get("proj:transform"), properties.get("proj:shape")
    if epsg is not None and transform and shape:
        a, b, c, d, e, f = transform[:6]
        return int(epsg), grid_bounds((a, b, c, d, e, f), (shape[0], shape[1])), abs(a)
    minx, miny, maxx, maxy = item["bbox"][:4]
    return 4326, (minx, miny, maxx, maxy), None


def complete_collection(collection: dict[str, Any], items: list[dict[str, Any]]) -> dict[str, Any]:
    """Add `cube:dimensions` and `summaries` derived from the items when they are missing."""
    if "cube:dimensions" in collection and "summaries" in collection:
        return collection
    grids = [_item_grid(item) for item in items]
    epsg = grids[0][0]
    bounds = [grid for code, grid, _ in grids if code == epsg]
    steps = [step for code, _, step in grids if code == epsg and step]
    times = sorted(
        item["properties"].get("datetime") or item["properties"]["start_datetime"] for item in items
    )
    bands = list(
        dict.fromkeys(
            key
            for item in items
            for key, asset in item.get("assets", {}).items()
            if "data" in asset.get("roles", ()) or "eo:bands" in asset
        )
    )
    spatial = {"type": "spatial", "reference_system": epsg, "step": min(steps) if steps else None}
    x_extent = [min(b[0] for b in bounds), max(b[2] for b in bounds)]
    y_extent = [min(b[1] for b in bounds), max(b[3] for b in bounds)]
    dimensions = {
        "x": {**spatial, "axis": "x", "extent": x_extent},
        "y": {**spatial, "axis": "y", "extent": y_extent},
        "t": {"type": "temporal", "extent": [times[0], times[-1]]},
        "bands": {"type": "bands", "values": bands},
    }
    summaries = {"eo:bands": [{"name": band} for band in bands]}
    return {"cube:dimensions": dimensions, "summaries": summaries, **collection}
