"""The pure builders of the discovery documents, compared with expected documents."""

import subprocess
import sys
from importlib.metadata import version

import pytest

from eoplex_capabilities import registry
from eoplex_capabilities.service import (
    Endpoint,
    build_capabilities,
    build_conformance,
    build_file_formats,
    build_service_types,
    build_udf_runtimes,
    build_well_known,
    well_known_url,
)
from eoplex_capabilities.settings import CapabilitiesSettings
from eoplex_common.manifest import executor_manifest
from tests.openapi_validation import validate_response

API_URL = "https://openeo.example/openeo/1.2/"


def settings(**overrides: object) -> CapabilitiesSettings:
    return CapabilitiesSettings(title="T", description="D", production=True, **overrides)


def test_capabilities_document() -> None:
    document = build_capabilities(
        api_url=API_URL,
        endpoints=[Endpoint("/me", ("GET",)), Endpoint("/jobs", ("GET", "POST"))],
        settings=settings(),
        backend_version="1.2.3",
    )
    assert document == {
        "api_version": "1.2.0",
        "backend_version": "1.2.3",
        "stac_version": "1.0.0",
        "type": "Catalog",
        "id": "eoplex",
        "title": "T",
        "description": "D",
        "production": True,
        "billing": {"currency": "EUR"},
        "conformsTo": [
            "https://api.openeo.org/1.2.0",
            "https://api.stacspec.org/v1.0.0/collections",
        ],
        "endpoints": [
            {"path": "/me", "methods": ["GET"]},
            {"path": "/jobs", "methods": ["GET", "POST"]},
        ],
        "links": [
            {"href": API_URL, "rel": "self", "type": "application/json", "title": "This back-end"},
            {
                "href": "https://openeo.example/.well-known/openeo",
                "rel": "version-history",
                "type": "application/json",
                "title": "Supported openEO versions",
            },
            {
                "href": "https://openeo.example/openeo/1.2/conformance",
                "rel": "conformance",
                "type": "application/json",
                "title": "Conformance classes",
            },
            {
                "href": "https://openeo.example/openeo/1.2/collections",
                "rel": "data",
                "type": "application/json",
                "title": "Collections",
            },
        ],
    }


def test_legal_links_only_when_configured() -> None:
    configured = settings(
        terms_of_service_url="https://openeo.example/terms",
        privacy_policy_url="https://openeo.example/privacy",
    )
    links = build_capabilities(
        api_url=API_URL, endpoints=[], settings=configured, backend_version="1"
    )["links"]
    assert {link["rel"]: link["href"] for link in links if link["type"] == "text/html"} == {
        "terms-of-service": "https://openeo.example/terms",
        "privacy-policy": "https://openeo.example/privacy",
    }


def test_well_known_url_keeps_a_path_prefix() -> None:
    assert (
        well_known_url("https://h.example/eo/openeo/1.2/")
        == "https://h.example/eo/.well-known/openeo"
    )
    assert well_known_url("http://h:8000/openeo/1.2") == "http://h:8000/.well-known/openeo"


def test_well_known() -> None:
    assert build_well_known(api_url=API_URL, production=False) == {
        "versions": [{"url": API_URL, "production": False, "api_version": "1.2.0"}]
    }


def test_documents_list_nothing_the_back_end_cannot_do() -> None:
    assert build_conformance() == {
        "conformsTo": [
            "https://api.openeo.org/1.2.0",
            "https://api.stacspec.org/v1.0.0/collections",
        ]
    }
    assert build_service_types() == {}


def test_udf_runtimes_list_python_with_the_installed_libraries() -> None:
    document = build_udf_runtimes()
    validate_response("GET", "/udf_runtimes", 200, document)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    runtime = document["Python"]
    assert (runtime["type"], runtime["default"], list(runtime["versions"])) == (
        "language",
        python,
        [python],
    )
    libraries = runtime["versions"][python]["libraries"]
    for name in ("numpy", "xarray", "pandas", "scipy", "openeo"):
        assert libraries[name] == {"version": version(name)}


def test_udf_runtimes_list_the_libraries_of_the_executors_manifest() -> None:
    listed = executor_manifest().udf_runtimes["Python"]
    runtime = build_udf_runtimes()["Python"]
    assert runtime["versions"] == {
        listed.version: {
            "libraries": {name: {"version": found} for name, found in listed.libraries.items()}
        }
    }


def test_udf_runtime_versions_are_read_without_importing_the_libraries() -> None:
    code = (
        "import sys\n"
        "from eoplex_capabilities.service import build_udf_runtimes\n"
        "build_udf_runtimes()\n"
        "print(sorted({'numpy', 'xarray', 'pandas', 'openeo'} & set(sys.modules)))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert output.stdout.strip() == "[]"


def test_file_formats_follow_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    gtiff = {"title": "GeoTiff", "gis_data_types": ["raster"], "parameters": {}}
    monkeypatch.setitem(registry.OUTPUT_FILE_FORMATS, "GTiff", gtiff)
    assert build_file_formats()["output"]["GTiff"] == gtiff


def test_udf_runtimes_show_the_executors_sandbox_and_put_a_refusal_first() -> None:
    refused = {"enforced": False, "runs_udfs": False, "reason": "UDFs are disabled: no Landlock"}
    document = build_udf_runtimes(sandbox=refused)
    validate_response("GET", "/udf_runtimes", 200, document)
    assert document["Python"]["eoplex:sandbox"] == refused
    assert document["Python"]["description"].startswith("UDFs are disabled: no Landlock.")
    confined = {"enforced": True, "runs_udfs": True, "reason": "", "layers": ["seccomp"]}
    document = build_udf_runtimes(sandbox=confined)
    assert document["Python"]["description"].startswith("Python UDFs")
    unknown = build_udf_runtimes()["Python"]
    assert unknown["eoplex:sandbox"]["runs_udfs"] is False
    assert unknown["description"].startswith("unknown: the executor did not answer")
