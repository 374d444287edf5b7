"""Validate response bodies against the openEO API 1.2 (`eoplex_common/specs/openapi.yaml`).

Usable from any test: `validate_response("GET", "/me", 200, body)` raises
`ResponseSchemaError` naming every mismatch. The spec is OpenAPI 3.0, whose schemas
are draft-4 JSON Schema plus `nullable`; `nullable` is rewritten to a `null` type,
and `$ref`s resolve against the spec's own `components`.
"""

from functools import cache
from importlib import resources
from typing import Any

import httpx
import yaml
from jsonschema import Draft4Validator

__all__ = [
    "ResponseSchemaError",
    "checked_body",
    "response_schema",
    "validate_error",
    "validate_response",
]


class ResponseSchemaError(AssertionError):
    """A response body that does not match the spec (or a response the spec does not define)."""


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects -> JSON Schema: `nullable: true` admits `null`."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is not True:
        return converted
    if isinstance(converted.get("type"), str):
        # Keeps error messages about the object itself, which `anyOf` would hide.
        converted["type"] = [converted["type"], "null"]
        if "enum" in converted:
            converted["enum"] = [*converted["enum"], None]
        return converted
    return {"anyOf": [converted, {"type": "null"}]}


@cache
def _spec() -> dict[str, Any]:
    text = resources.files("eoplex_common").joinpath("specs/openapi.yaml").read_text()
    spec = dict(_json_schema(yaml.safe_load(text)))
    # The branches of a process parameter's data type are declared `oneOf` but overlap:
    # an ordinary schema such as {"type": "string"} matches all three, so no real process
    # or file format document could pass (Open-EO/openeo-api#600). Read them as `anyOf`.
    data_type = spec["components"]["schemas"]["process_json_schema"]
    data_type["anyOf"] = data_type.pop("oneOf")
    return spec


def _response(method: str, path_template: str, status: int) -> dict[str, Any]:
    operations = _spec()["paths"].get(path_template)
    if operations is None:
        raise ResponseSchemaError(f"openapi.yaml has no path {path_template!r}")
    operation = operations.get(method.lower())
    if operation is None:
        raise ResponseSchemaError(f"openapi.yaml has no {method.upper()} {path_template}")
    responses = operation["responses"]
    for key in (str(status), f"{status // 100}XX", "default"):
        if key in responses:
            return _resolve(responses[key])
    raise ResponseSchemaError(
        f"openapi.yaml defines no status {status} for {method.upper()} {path_template}"
    )


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = _spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def response_schema(method: str, path_template: str, status: int) -> dict[str, Any] | None:
    """The JSON schema of a response, or None when the spec defines a response without body."""
    content = _response(method, path_template, status).get("content", {})
    # JSON bodies may have a JSON media type other than application/json, e.g. the
    # queryables' application/schema+json.
    json_types = [t for t in content if t == "application/json" or t.endswith("+json")]
    media = content[json_types[0]] if json_types else None
    return None if media is None else dict(media.get("schema", {}))


def validate_response(method: str, path_template: str, status: int, body: Any) -> None:
    """Raise `ResponseSchemaError` unless `body` is what the spec promises for this response."""
    schema = response_schema(method, path_template, status)
    where = f"{method.upper()} {path_template} {status}"
    if schema is None:
        if body is not None:
            raise ResponseSchemaError(f"{where}: the spec defines no JSON body, got {body!r}")
        return
    _validate(schema, body, where=where)


def validate_error(body: Any) -> None:
    """Raise `ResponseSchemaError` unless `body` is an openEO error object.

    For responses of paths the spec does not list (unknown routes, `/health`).
    """
    _validate({"$ref": "#/components/schemas/error"}, body, where="error")


def checked_body(response: httpx.Response, method: str, template: str, status: int) -> Any:
    """Assert the status, validate the body against the spec, and return it."""
    assert response.status_code == status, response.text
    if status >= 400:
        validate_error(response.json())
        return response.json()
    body = response.json() if response.content else None
    validate_response(method, template, status, body)
    return body


def _validate(schema: dict[str, Any], body: Any, *, where: str) -> None:
    # `$ref`s inside the schema point at `#/components/...`: give them a root to resolve in.
    root = {"allOf": [schema], "components": _spec()["components"]}
    errors = sorted(Draft4Validator(root).iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        problems = "\n".join(
            f"  at /{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in errors
        )
        raise ResponseSchemaError(f"{where}: body does not match openapi.yaml:\n{problems}")
