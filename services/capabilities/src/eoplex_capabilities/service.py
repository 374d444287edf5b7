"""The capabilities service's logic: pure builders of the openEO discovery documents."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any
from urllib.parse import urljoin

from eoplex_capabilities import registry
from eoplex_capabilities.clients import ExecutorClient
from eoplex_capabilities.health import HealthChecker, HealthReport
from eoplex_capabilities.settings import CapabilitiesSettings
from eoplex_common.manifest import FileFormat, executor_manifest

API_VERSION = "1.2.0"
STAC_VERSION = "1.0.0"


@dataclass(frozen=True)
class Endpoint:
    """One route the gateway serves, in openEO form (`/credentials/basic`, `["GET"]`)."""

    path: str
    methods: tuple[str, ...]


def well_known_url(api_url: str) -> str:
    """`<base>/.well-known/openeo` for the versioned root `<base>/openeo/1.2/`."""
    return urljoin(api_url if api_url.endswith("/") else f"{api_url}/", "../../.well-known/openeo")


def _link(href: str, rel: str, title: str, media_type: str = "application/json") -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def build_links(*, api_url: str, settings: CapabilitiesSettings) -> list[dict[str, str]]:
    """The links of `GET /`: self, version history, conformance, data (the collections), and
    the optional legal pages."""
    links = [
        _link(api_url, "self", "This back-end"),
        _link(well_known_url(api_url), "version-history", "Supported openEO versions"),
        _link(urljoin(api_url, "conformance"), "conformance", "Conformance classes"),
        _link(urljoin(api_url, "collections"), "data", "Collections"),
    ]
    if settings.terms_of_service_url:
        links.append(_link(settings.terms_of_service_url, "terms-of-service", "Terms", "text/html"))
    if settings.privacy_policy_url:
        links.append(_link(settings.privacy_policy_url, "privacy-policy", "Privacy", "text/html"))
    return links


def build_capabilities(
    *,
    api_url: str,
    endpoints: Iterable[Endpoint],
    settings: CapabilitiesSettings,
    backend_version: str,
) -> dict[str, Any]:
    """`GET /`: the back-end's identity and exactly the endpoints the gateway serves."""
    return {
        "api_version": API_VERSION,
        "backend_version": backend_version,
        "stac_version": STAC_VERSION,
        "type": "Catalog",
        "id": settings.backend_id,
        "title": settings.title,
        "description": settings.description,
        "production": settings.production,
        "billing": {"currency": settings.billing_currency},
        "conformsTo": list(registry.CONFORMANCE_CLASSES),
        "endpoints": [
            {"path": endpoint.path, "methods": list(endpoint.methods)} for endpoint in endpoints
        ],
        "links": build_links(api_url=api_url, settings=settings),
    }


def build_well_known(*, api_url: str, production: bool) -> dict[str, Any]:
    """`GET /.well-known/openeo`: the one API version this back-end serves."""
    return {"versions": [{"url": api_url, "production": production, "api_version": API_VERSION}]}


def build_conformance() -> dict[str, Any]:
    """`GET /conformance`: the conformance classes the back-end really implements."""
    return {"conformsTo": list(registry.CONFORMANCE_CLASSES)}


def _described(
    descriptions: Mapping[str, dict[str, Any]], formats: Mapping[str, FileFormat]
) -> dict[str, dict[str, Any]]:
    return {name: described for name, described in descriptions.items() if name in formats}


def build_file_formats() -> dict[str, Any]:
    """`GET /file_formats`: the formats the executor reads and writes (its manifest), as
    `registry` describes them (a test checks that every one of them is described, with
    exactly its options and their defaults)."""
    executor = executor_manifest()
    return {
        "input": _described(registry.INPUT_FILE_FORMATS, executor.input_formats),
        "output": _described(registry.OUTPUT_FILE_FORMATS, executor.output_formats),
    }


def build_udf_runtimes(*, sandbox: dict[str, Any] | None = None) -> dict[str, Any]:
    """`GET /udf_runtimes`: the Python runtime of `run_udf`, whose one version is the
    executor's interpreter's (also the default), with the libraries UDFs may import and
    their versions, as the executor's manifest lists them. The executor's UDF sandbox
    (`sandbox`, None: the executor did not answer) is its `eoplex:sandbox`, and where UDFs
    are refused or run weaker, its description says why first."""
    python = executor_manifest().udf_runtimes["Python"]
    libraries = {name: {"version": found} for name, found in python.libraries.items()}
    if sandbox is None:
        sandbox = {"reason": "unknown: the executor did not answer", "runs_udfs": False}
    description = registry.PYTHON_UDF_RUNTIME["description"]
    if sandbox.get("reason"):
        description = f"{sandbox['reason']}.\n\n{description}"
    runtime = {
        **registry.PYTHON_UDF_RUNTIME,
        "description": description,
        "default": python.version,
        "versions": {python.version: {"libraries": libraries}},
        "eoplex:sandbox": sandbox,
    }
    return {"Python": runtime}


def build_service_types() -> dict[str, Any]:
    """`GET /service_types`: the secondary web service types offered."""
    return dict(registry.SERVICE_TYPES)


class CapabilitiesService:
    """The discovery documents (`GET /`, `/.well-known/openeo`, ...) and `GET /health`."""

    def __init__(
        self,
        *,
        settings: CapabilitiesSettings,
        health: HealthChecker,
        executor: ExecutorClient | None = None,
    ) -> None:
        self.settings = settings
        self.health_checker = health
        self.executor = executor
        self.backend_version = version("eoplex-capabilities")

    def capabilities(self, *, api_url: str, endpoints: Iterable[Endpoint]) -> dict[str, Any]:
        """`GET /` for a gateway whose versioned root is `api_url`."""
        return build_capabilities(
            api_url=api_url,
            endpoints=endpoints,
            settings=self.settings,
            backend_version=self.backend_version,
        )

    def well_known(self, *, api_url: str) -> dict[str, Any]:
        """`GET /.well-known/openeo`."""
        return build_well_known(api_url=api_url, production=self.settings.production)

    async def udf_runtimes(self) -> dict[str, Any]:
        """`GET /udf_runtimes`, with the executor's UDF sandbox (see `build_udf_runtimes`)."""
        sandbox = await self.executor.udf_sandbox() if self.executor else None
        return build_udf_runtimes(sandbox=sandbox)

    async def health(self) -> HealthReport:
        """`GET /health`: every service and server, checked concurrently with short timeouts."""
        return await self.health_checker.check()
