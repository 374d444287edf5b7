"""Validate STAC documents offline against the STAC core JSON Schemas.

The schemas are the ones `pystac` (a dev dependency) bundles under
`pystac/validation/jsonschemas/` (STAC 1.1.0, plus GeoJSON Feature and Geometry); they
are read from the installed package at test time, never copied into this project.
The back-end emits `stac_version` "1.0.0": the schemas' `stac_version` constant is
relaxed to the document's version (1.1.0 only adds optional fields to 1.0.0), and
every `$ref` resolves locally through a `referencing` registry, so no network is used.

`validate_stac_collection(doc)` and `validate_stac_item(doc)` raise `StacSchemaError`
naming every mismatch.
"""

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_specifications
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

__all__ = ["StacSchemaError", "validate_stac_collection", "validate_stac_item"]

STAC_SCHEMA_VERSION = "v1.1.0"


class StacSchemaError(AssertionError):
    """A document that does not match the STAC JSON Schema."""


def _relax_version(node: Any, version: str) -> Any:
    """A copy with every `stac_version` constant replaced by `version`."""
    if isinstance(node, list):
        return [_relax_version(item, version) for item in node]
    if not isinstance(node, dict):
        return node
    relaxed = {key: _relax_version(value, version) for key, value in node.items()}
    stac_version = relaxed.get("properties", {}).get("stac_version")
    if isinstance(stac_version, dict) and "const" in stac_version:
        relaxed["properties"]["stac_version"] = {**stac_version, "const": version}
    return relaxed


SPEC_FOLDERS = {"collection.json": "collection-spec", "catalog.json": "catalog-spec"}


def _stac_uri(file_name: str) -> str:
    """The canonical URL of a bundled STAC schema file (item-spec unless named otherwise)."""
    folder = SPEC_FOLDERS.get(file_name, "item-spec")
    return f"https://schemas.stacspec.org/{STAC_SCHEMA_VERSION}/{folder}/json-schema/{file_name}"


def _bundled() -> dict[str, Any]:
    """pystac's bundled schemas by canonical URL.

    Some bundled `$id`s are misspelt (e.g. `commonjson`); each `$id` is set to the
    file's canonical URL, so that relative `$ref`s between the files resolve.
    """
    root = resources.files("pystac").joinpath("validation/jsonschemas")
    schemas: dict[str, Any] = {}
    for entry in root.joinpath(f"stac-spec/{STAC_SCHEMA_VERSION}").iterdir():
        if entry.name.endswith(".json"):
            uri = _stac_uri(entry.name)
            schemas[uri] = {**json.loads(entry.read_text()), "$id": uri}
    for name in ("Feature", "Geometry"):
        text = root.joinpath(f"geojson/{name}.json").read_text()
        schemas[f"https://geojson.org/schema/{name}.json"] = json.loads(text)
    return schemas


@cache
def _validator(file_name: str, version: str) -> Draft7Validator:
    schemas = {uri: _relax_version(schema, version) for uri, schema in _bundled().items()}
    registry: Registry[Any] = Registry().with_resources(
        (uri, Resource.from_contents(schema, default_specification=DRAFT7))
        for uri, schema in schemas.items()
    )
    registry = registry.combine(jsonschema_specifications.REGISTRY)
    return Draft7Validator(schemas[_stac_uri(file_name)], registry=registry)


def _validate(kind: str, document: dict[str, Any]) -> None:
    validator = _validator(f"{kind}.json", str(document.get("stac_version", "")))
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.path))
    if errors:
        details = "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])
        raise StacSchemaError(f"STAC {kind} {document.get('id')!r} is invalid: {details}")


def validate_stac_collection(document: dict[str, Any]) -> None:
    """Raise StacSchemaError unless `document` is a valid STAC Collection."""
    _validate("collection", document)


def validate_stac_item(document: dict[str, Any]) -> None:
    """Raise StacSchemaError unless `document` is a valid STAC Item."""
    _validate("item", document)
