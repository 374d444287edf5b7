"""A static STAC catalog read from disk: hrefs made absolute, assets keyed by band."""

import json
from pathlib import Path

import pytest

from eoplex_ingest.errors import IngestError
from eoplex_ingest.static import read_static_collection


def write_catalog(root: Path, *, item_properties: dict[str, object]) -> Path:
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "scene-1",
        "bbox": [11.0, 46.0, 11.1, 46.1],
        "geometry": {"type": "Point", "coordinates": [11.05, 46.05]},
        "properties": item_properties,
        "assets": {
            "red_file": {"href": "./red.tif", "eo:bands": [{"name": "B04"}]},
            "thumbnail": {"href": "https://example.com/t.png"},
        },
        "links": [{"rel": "self", "href": "./scene-1.json"}],
    }
    (root / "items").mkdir(parents=True)
    (root / "items" / "scene-1.json").write_text(json.dumps(item))
    collection = {
        "type": "Collection",
        "stac_version": "1.0.0",
        "id": "STATIC",
        "description": "d",
        "license": "CC0-1.0",
        "extent": {},
        "links": [{"rel": "item", "href": "items/scene-1.json"}, {"rel": "root", "href": "."}],
    }
    path = root / "collection.json"
    path.write_text(json.dumps(collection))
    return path


def test_items_are_read_through_their_links_with_absolute_hrefs(tmp_path: Path) -> None:
    path = write_catalog(tmp_path, item_properties={"datetime": "2022-05-01T00:00:00Z"})

    documents = read_static_collection(path, collection_id="RENAMED")

    assert documents.collection["id"] == "RENAMED"
    assert documents.collection["links"] == []
    # Derived from the item, which has no proj:* fields: its WGS84 bbox.
    assert documents.collection["cube:dimensions"] == {
        "x": {
            "type": "spatial",
            "axis": "x",
            "extent": [11.0, 11.1],
            "reference_system": 4326,
            "step": None,
        },
        "y": {
            "type": "spatial",
            "axis": "y",
            "extent": [46.0, 46.1],
            "reference_system": 4326,
            "step": None,
        },
        "t": {"type": "temporal", "extent": ["2022-05-01T00:00:00Z", "2022-05-01T00:00:00Z"]},
        "bands": {"type": "bands", "values": ["B04"]},
    }
    assert documents.collection["summaries"] == {"eo:bands": [{"name": "B04"}]}
    [item] = documents.items
    assert item["collection"] == "RENAMED"
    assert item["links"] == []
    assert item["assets"] == {
        "B04": {"href": str(tmp_path / "items" / "red.tif"), "eo:bands": [{"name": "B04"}]},
        "thumbnail": {"href": "https://example.com/t.png"},
    }


def test_an_item_without_a_datetime_is_refused(tmp_path: Path) -> None:
    path = write_catalog(tmp_path, item_properties={"datetime": None})

    with pytest.raises(IngestError, match="item 'scene-1' has no datetime"):
        read_static_collection(path)


def test_a_document_that_is_not_a_collection_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text("{not json")
    with pytest.raises(IngestError, match="not a readable JSON document"):
        read_static_collection(path)
    path.write_text('{"type": "Feature"}')
    with pytest.raises(IngestError, match="not a STAC Collection"):
        read_static_collection(path)
