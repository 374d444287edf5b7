"""Ingest of a static STAC catalog: a collection.json and the items it links to.

The documents are kept as they are, except: links are dropped (the gateway builds
them), relative asset hrefs become absolute, an asset holding one band described by
`eo:bands` is keyed by that band's name, and items point to the collection's id.
"""

import json
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from eoplex_ingest.errors import IngestError
from eoplex_ingest.ingest import CollectionDocuments


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
    return CollectionDocuments({**collection, "id": collection_id, "links": []}, items)
