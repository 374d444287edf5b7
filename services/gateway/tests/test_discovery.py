"""GET /, the well-known document and the discovery documents, through the real services."""

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from eoplex_capabilities.service import build_udf_runtimes
from eoplex_gateway.endpoints import OPENEO_METHODS
from tests.openapi_validation import validate_response

from .conftest import Bearer

API = "/openeo/1.2"


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(openEO path, method) of every versioned route except `GET /`, from the app itself."""
    return {
        # `{path:path}` is `{path}` in openEO.
        (route.path.removeprefix(API).replace(":path}", "}"), method)
        for route in iter_route_contexts(app.routes)
        if route.path and route.path.startswith(f"{API}/") and route.path != f"{API}/"
        for method in route.methods or ()
        if method in OPENEO_METHODS
    }


async def test_endpoints_are_exactly_the_served_routes(
    app: FastAPI, client: httpx.AsyncClient, bearer: Bearer
) -> None:
    response = await client.get(f"{API}/")
    listed = {(e["path"], m) for e in response.json()["endpoints"] for m in e["methods"]}
    assert listed == served_routes(app)
    assert ("/credentials/basic", "GET") in listed
    assert "/.well-known/openeo" not in {path for path, _ in listed}
    for path, method in listed:
        answer = await client.request(method, f"{API}{path}", headers=bearer("alice"))
        assert answer.status_code not in (404, 405), (method, path, answer.text)


async def test_capabilities_document(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/")
    assert response.status_code == 200
    body = response.json()
    validate_response("GET", "/", 200, body)
    assert body["api_version"] == "1.2.0"
    assert body["id"] == "eoplex"
    links = {link["rel"]: link["href"] for link in body["links"]}
    assert links["self"] == "http://testserver/openeo/1.2/"
    assert links["version-history"] == "http://testserver/.well-known/openeo"
    assert links["conformance"] == "http://testserver/openeo/1.2/conformance"
    assert links["data"] == "http://testserver/openeo/1.2/collections"


async def test_api_root_without_trailing_slash(client: httpx.AsyncClient) -> None:
    response = await client.get(API)
    assert response.status_code == 200
    validate_response("GET", "/", 200, response.json())


async def test_well_known_points_at_the_versioned_root(client: httpx.AsyncClient) -> None:
    response = await client.get("/.well-known/openeo")
    assert response.status_code == 200
    validate_response("GET", "/.well-known/openeo", 200, response.json())
    assert response.json() == {
        "versions": [
            {"url": "http://testserver/openeo/1.2/", "production": False, "api_version": "1.2.0"}
        ]
    }


async def test_public_url_setting_overrides_the_host(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    app.state.settings.public_url = "https://openeo.example/"
    response = await client.get("/.well-known/openeo")
    assert response.json()["versions"][0]["url"] == "https://openeo.example/openeo/1.2/"


async def test_forwarded_headers_count_only_when_trusted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "proxy.example"}
    untrusted = await client.get("/.well-known/openeo", headers=forwarded)
    app.state.settings.trust_proxy_headers = True
    trusted = await client.get("/.well-known/openeo", headers=forwarded)
    assert untrusted.json()["versions"][0]["url"] == "http://testserver/openeo/1.2/"
    assert trusted.json()["versions"][0]["url"] == "https://proxy.example/openeo/1.2/"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "/conformance",
            {
                "conformsTo": [
                    "https://api.openeo.org/1.2.0",
                    "https://api.stacspec.org/v1.0.0/collections",
                ]
            },
        ),
        ("/udf_runtimes", build_udf_runtimes()),
        ("/service_types", {}),
    ],
)
async def test_discovery_documents(
    client: httpx.AsyncClient, path: str, expected: dict[str, object]
) -> None:
    response = await client.get(f"{API}{path}")
    assert response.status_code == 200
    validate_response("GET", path, 200, response.json())
    assert response.json() == expected


async def test_conformance_equals_conforms_to_of_capabilities(client: httpx.AsyncClient) -> None:
    capabilities = (await client.get(f"{API}/")).json()
    conformance = (await client.get(f"{API}/conformance")).json()
    assert capabilities["conformsTo"] == conformance["conformsTo"]


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def test_a_browser_gets_a_landing_page_at_the_root(client: httpx.AsyncClient) -> None:
    response = await client.get("/", headers={"Accept": BROWSER})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Accept" in response.headers["vary"]
    page = response.text
    assert '<a href="http://testserver/openeo/1.2/">' in page
    assert '<a href="http://testserver/.well-known/openeo">' in page
    editor = "https://editor.openeo.org/?server=http%3A%2F%2Ftestserver%2Fopeneo%2F1.2%2F"
    assert f'<a href="{editor}">' in page


@pytest.mark.parametrize(
    "accept", [None, "*/*", "application/json", "application/json, text/plain, */*"]
)
async def test_clients_get_json_at_the_root(client: httpx.AsyncClient, accept: str | None) -> None:
    headers = {"Accept": accept} if accept else {}
    response = await client.get("/", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    validate_response("GET", "/.well-known/openeo", 200, response.json())


async def test_the_landing_page_escapes_what_it_shows(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    app.state.settings.public_url = 'https://openeo.example/"><script>alert(1)</script>'
    page = (await client.get("/", headers={"Accept": "text/html"})).text
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
