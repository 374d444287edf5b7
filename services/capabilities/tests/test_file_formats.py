"""`GET /file_formats`: the formats the executor reads and writes, described as the API asks."""

from typing import Any

import pytest
from jsonschema import Draft7Validator

from eoplex_capabilities import registry
from eoplex_capabilities.service import build_file_formats
from eoplex_common.manifest import executor_manifest
from tests.openapi_validation import validate_response

FORMATS = [
    *(("input", name, described) for name, described in registry.INPUT_FILE_FORMATS.items()),
    *(("output", name, described) for name, described in registry.OUTPUT_FILE_FORMATS.items()),
]


def test_the_document_lists_what_the_executor_reads_and_writes() -> None:
    document = build_file_formats()
    assert set(document["input"]) == {"GTiff", "GeoJSON"}
    assert set(document["output"]) == {
        "GTiff",
        "netCDF",
        "JSON",
        "PNG",
        "GeoJSON",
        "CSV",
        "Parquet",
    }


def test_the_descriptions_name_exactly_the_executors_formats_and_options() -> None:
    """What the executor reads and writes comes from its manifest, what users read about it
    from `registry`: every format of one is described in the other, with the options the
    executor accepts and their defaults."""
    executor = executor_manifest()
    for formats, described in (
        (executor.input_formats, registry.INPUT_FILE_FORMATS),
        (executor.output_formats, registry.OUTPUT_FILE_FORMATS),
    ):
        assert set(described) == set(formats)
        for name, listed in formats.items():
            parameters = described[name]["parameters"]
            defaults = {option: schema["default"] for option, schema in parameters.items()}
            assert defaults == dict(listed.options), name


def test_the_document_matches_the_api_spec() -> None:
    validate_response("GET", "/file_formats", 200, build_file_formats())


def test_names_differ_in_more_than_letter_case() -> None:
    # The API matches format names case-insensitively.
    for formats in (registry.INPUT_FILE_FORMATS, registry.OUTPUT_FILE_FORMATS):
        assert len({name.lower() for name in formats}) == len(formats)


@pytest.mark.parametrize(("direction", "name", "described"), FORMATS)
def test_every_format_is_described_for_users(
    direction: str, name: str, described: dict[str, Any]
) -> None:
    assert described["title"]
    assert len(described["description"]) > 80, f"{direction} {name} needs a real description"
    assert described["gis_data_types"]


@pytest.mark.parametrize(("direction", "name", "described"), FORMATS)
def test_parameters_are_json_schemas_with_valid_defaults(
    direction: str, name: str, described: dict[str, Any]
) -> None:
    for parameter, schema in described["parameters"].items():
        Draft7Validator.check_schema(schema)
        assert schema["description"], f"{name}.{parameter}"
        assert "default" in schema, f"{name}.{parameter} says what applies when it is omitted"
        assert Draft7Validator(schema).is_valid(schema["default"]), f"{name}.{parameter}"
