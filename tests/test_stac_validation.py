"""The offline STAC validator accepts valid documents and names what is wrong with others."""

from typing import Any

import pytest

from tests.data_discovery_server import collection_document, item_document
from tests.stac_validation import StacSchemaError, validate_stac_collection, validate_stac_item


def item() -> dict[str, Any]:
    link = {"rel": "collection", "href": "https://openeo.example/openeo/1.2/collections/C"}
    return {**item_document("a"), "collection": "C", "links": [link]}


def test_valid_documents_pass() -> None:
    validate_stac_collection({**collection_document("C"), "links": []})
    validate_stac_item(item())


@pytest.mark.parametrize(
    ("change", "message"),
    [({"extent": {"spatial": {}}}, "temporal"), ({"links": None}, "links"), ({"id": 7}, "id")],
)
def test_invalid_collections_fail(change: dict[str, Any], message: str) -> None:
    with pytest.raises(StacSchemaError, match=message):
        validate_stac_collection({**collection_document("C"), "links": [], **change})


def test_invalid_items_fail() -> None:
    with pytest.raises(StacSchemaError, match="properties"):
        validate_stac_item({**item(), "properties": {}})
    with pytest.raises(StacSchemaError, match="Feature"):
        validate_stac_item({**item(), "type": "Collection"})
