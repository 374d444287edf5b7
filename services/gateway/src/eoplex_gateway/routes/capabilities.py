"""Routes answered by the capabilities service: `GET /`, discovery documents, `/health`."""

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from eoplex_common.errors import ServiceUnavailable
from eoplex_gateway.dependencies import Clients, Settings
from eoplex_gateway.endpoints import served_endpoints
from eoplex_gateway.landing import build_landing_page, wants_html
from eoplex_gateway.routes.account import OIDC_PATH, configured_oidc_providers
from eoplex_gateway.urls import api_url, public_base_url
from eoplex_proto.openeo.capabilities.v1 import capabilities_pb2 as pb

router = APIRouter()
well_known_router = APIRouter()


def json_document(document: pb.JsonDocument) -> Response:
    """Pass a service's JSON document through without parsing it again."""
    return Response(content=document.json, media_type="application/json")


@router.get("/")
@router.get("", include_in_schema=False)
async def capabilities(request: Request, settings: Settings, clients: Clients) -> Response:
    """`GET /`: the back-end's identity and exactly the endpoints this gateway serves;
    `/credentials/oidc` only when an OpenID Connect provider is configured."""
    endpoints = served_endpoints(request.app.routes)
    if not await configured_oidc_providers(clients):
        endpoints = [endpoint for endpoint in endpoints if endpoint.path != OIDC_PATH]
    query = pb.GetCapabilitiesRequest(api_url=api_url(request, settings), endpoints=endpoints)
    return json_document(await clients.capabilities.GetCapabilities(query))


@well_known_router.get("/")
async def landing_page(request: Request, settings: Settings, clients: Clients) -> Response:
    """`GET /` of the server (outside the API): an HTML page for browsers, linking to the
    API and the openEO Web Editor; the well-known document for every other client."""
    if not wants_html(request.headers.get("accept", "")):
        document = await well_known(request, settings, clients)
        document.headers.append("Vary", "Accept")
        return document
    url = api_url(request, settings)
    identity = await clients.capabilities.GetCapabilities(pb.GetCapabilitiesRequest(api_url=url))
    document = json.loads(identity.json)
    page = build_landing_page(
        title=document["title"],
        description=document["description"],
        api_url=url,
        well_known_url=f"{public_base_url(request, settings)}/.well-known/openeo",
    )
    return HTMLResponse(page, headers={"Vary": "Accept"})


@well_known_router.get("/.well-known/openeo")
async def well_known(request: Request, settings: Settings, clients: Clients) -> Response:
    """`GET /.well-known/openeo`: the API versions served, outside the versioned prefix."""
    query = pb.GetWellKnownRequest(api_url=api_url(request, settings))
    return json_document(await clients.capabilities.GetWellKnown(query))


@router.get("/conformance")
async def conformance(clients: Clients) -> Response:
    """`GET /conformance`."""
    return json_document(await clients.capabilities.GetConformance(pb.GetConformanceRequest()))


@router.get("/file_formats")
async def file_formats(clients: Clients) -> Response:
    """`GET /file_formats`."""
    return json_document(await clients.capabilities.GetFileFormats(pb.GetFileFormatsRequest()))


@router.get("/udf_runtimes")
async def udf_runtimes(clients: Clients) -> Response:
    """`GET /udf_runtimes`."""
    return json_document(await clients.capabilities.GetUdfRuntimes(pb.GetUdfRuntimesRequest()))


@router.get("/service_types")
async def service_types(clients: Clients) -> Response:
    """`GET /service_types`."""
    request = pb.GetServiceTypesRequest()
    return json_document(await clients.capabilities.GetServiceTypes(request))


@router.get("/health")
async def health(clients: Clients) -> JSONResponse:
    """`GET /health` (no auth): 200 when every component is ok, 503 `degraded` otherwise."""
    try:
        report = await clients.capabilities.GetHealth(pb.GetHealthRequest())
    except ServiceUnavailable:
        # The service that checks the others is down itself: say so, in the same shape.
        return JSONResponse(health_document(capabilities_down()), status_code=503)
    return JSONResponse(health_document(report), status_code=200 if report.status == "ok" else 503)


def capabilities_down() -> pb.GetHealthResponse:
    """The health report when the capabilities service cannot be reached."""
    component = pb.ComponentHealth(
        name="capabilities", kind="service", status="unavailable", detail="ServiceUnavailable"
    )
    return pb.GetHealthResponse(status="degraded", components=[component])


def health_document(report: pb.GetHealthResponse) -> dict[str, Any]:
    """`{"status": "ok" | "degraded", "components": [{name, kind, status, detail}]}`."""
    return {
        "status": report.status,
        "components": [
            {"name": c.name, "kind": c.kind, "status": c.status, "detail": c.detail}
            for c in report.components
        ],
    }
